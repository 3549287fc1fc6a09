using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>Log events of SPIFFE authorization (event IDs 4010–4019, docs/telemetry.md).</summary>
internal static partial class SpiffeAuthorizationLog
{
    [LoggerMessage(4010, LogLevel.Warning, "Authorization denied ({Outcome}) by policy {Policy} to {Caller} on {Endpoint}: {Reasons}")]
    public static partial void Denied(ILogger logger, string outcome, string policy, string caller, string endpoint, string reasons);

    [LoggerMessage(4011, LogLevel.Information, "SPIFFE authorization rules loaded from configuration: {Count} policies ({Names})")]
    public static partial void RulesLoaded(ILogger logger, int count, string names);

    [LoggerMessage(4012, LogLevel.Error, "SPIFFE authorization rules from configuration rejected; the previous rules stay in force: {Reason}")]
    public static partial void ReloadRejected(ILogger logger, string reason);

    [LoggerMessage(4013, LogLevel.Warning, "Policy {Policy} was added to the configuration after startup; it is enforced only after a restart (endpoints resolve policy names at startup)")]
    public static partial void PolicyAddedAfterStartup(ILogger logger, string policy);

    [LoggerMessage(4014, LogLevel.Warning, "Policy {Policy} is no longer in the configuration; it denies every caller until it is restored")]
    public static partial void PolicyRemoved(ILogger logger, string policy);

    [LoggerMessage(4015, LogLevel.Information, "SPIFFE authorization rule set loaded from configuration (Spiffe:Authorization:Rules): {Count} rules")]
    public static partial void RuleSetLoaded(ILogger logger, int count);

    [LoggerMessage(4016, LogLevel.Error, "SPIFFE authorization rule set from configuration rejected; the previous rule set stays in force: {Reason}")]
    public static partial void RuleSetReloadRejected(ILogger logger, string reason);
}

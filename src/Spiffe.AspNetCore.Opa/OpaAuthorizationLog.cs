using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Opa;

/// <summary>Log events of the OPA decision point (event IDs 4111–4119, docs/telemetry.md).</summary>
internal static partial class OpaAuthorizationLog
{
    [LoggerMessage(4111, LogLevel.Warning, "OPA at {DecisionUri} gave no usable decision: {Reason}; the request is refused with 503")]
    public static partial void Unavailable(ILogger logger, Uri decisionUri, string reason);

    [LoggerMessage(4112, LogLevel.Error, "OPA circuit opened for {BreakDuration}: requests needing an OPA decision from {DecisionUri} are refused with 503 without querying it")]
    public static partial void CircuitOpened(ILogger logger, Uri decisionUri, TimeSpan breakDuration);

    [LoggerMessage(4113, LogLevel.Information, "OPA circuit closed: {DecisionUri} answers again")]
    public static partial void CircuitClosed(ILogger logger, Uri decisionUri);
}

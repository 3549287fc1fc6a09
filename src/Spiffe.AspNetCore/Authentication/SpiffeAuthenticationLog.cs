using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>Log events of the SPIFFE authentication schemes (event IDs 4001–4009, docs/telemetry.md).</summary>
internal static partial class SpiffeAuthenticationLog
{
    [LoggerMessage(4001, LogLevel.Information, "Scheme {Scheme} rejected a bearer JWT-SVID: {Reason}")]
    public static partial void JwtSvidRejected(ILogger logger, string scheme, string reason);

    [LoggerMessage(4002, LogLevel.Information, "Scheme {Scheme} rejected the Authorization header: {Reason}")]
    public static partial void MalformedAuthorizationHeader(ILogger logger, string scheme, string reason);

    [LoggerMessage(4003, LogLevel.Debug, "Scheme {Scheme} authenticated JWT-SVID of {SpiffeId}")]
    public static partial void JwtSvidAccepted(ILogger logger, string scheme, SpiffeId spiffeId);
}

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

    [LoggerMessage(4004, LogLevel.Warning, "Scheme {Scheme} ignored an x-forwarded-client-cert header from {Peer} at {RemoteAddress}: that peer is not a trusted proxy")]
    public static partial void ForwardedCertificateFromUntrustedPeer(ILogger logger, string scheme, SpiffeId peer, string remoteAddress);

    [LoggerMessage(4005, LogLevel.Warning, "Scheme {Scheme} rejected the x-forwarded-client-cert header from trusted proxy {Proxy}: {Reason}")]
    public static partial void ForwardedCertificateRejected(ILogger logger, string scheme, SpiffeId proxy, string reason);

    [LoggerMessage(4006, LogLevel.Debug, "Scheme {Scheme} authenticated {Caller} forwarded by trusted proxy {Proxy}")]
    public static partial void ForwardedCallerAccepted(ILogger logger, string scheme, SpiffeId caller, SpiffeId proxy);
}

using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Hosting;

/// <summary>
/// Log messages of <c>AddSpiffe()</c>'s start-up and health check (event IDs 1001–1099, documented in
/// docs/telemetry.md). IDs, expiry and error messages only: never key material.
/// </summary>
internal static partial class SpiffeHostingLog
{
    [LoggerMessage(1001, LogLevel.Information, "SPIFFE sources ready after {ElapsedMs} ms ({Sources}); X509-SVID {SpiffeId} expires {NotAfter:o}")]
    public static partial void Ready(ILogger logger, long elapsedMs, string sources, string spiffeId, DateTimeOffset? notAfter);

    [LoggerMessage(1002, LogLevel.Critical, "SPIFFE sources not ready; the host does not start (set Spiffe:AllowDegradedStart to start anyway): {Reason}")]
    public static partial void StartFailed(ILogger logger, string reason);

    [LoggerMessage(1003, LogLevel.Warning, "SPIFFE sources not ready; starting degraded (Spiffe:AllowDegradedStart): TLS handshakes fail and the health check is Unhealthy until an SVID arrives: {Reason}")]
    public static partial void StartedDegraded(ILogger logger, string reason);

    [LoggerMessage(1004, LogLevel.Debug, "Prefetched a JWT-SVID for audience {Audience}; expires {ExpiresAt:o}")]
    public static partial void JwtPrefetched(ILogger logger, string audience, DateTimeOffset expiresAt);

    [LoggerMessage(1005, LogLevel.Information, "Kestrel endpoint {Endpoint}: SPIFFE {Mode}, admitting {Authorizer}")]
    public static partial void EndpointConfigured(ILogger logger, string endpoint, string mode, string authorizer);
}

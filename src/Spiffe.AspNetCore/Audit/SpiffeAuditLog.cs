using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Audit;

/// <summary>The audit trail's log events (category <c>Spiffe.Audit</c>, event IDs 4100–4109, docs/telemetry.md).</summary>
internal static partial class SpiffeAuditLog
{
    public const string Category = "Spiffe.Audit";

    [LoggerMessage(4100, LogLevel.Information, "SPIFFE audit: {Method} {Path} route={Route} status={StatusCode} decision={Decision} policy={Policy} source={DecisionSource} rule={RuleIndex} decision_id={DecisionId} cache_hit={CacheHit} caller={Caller} peer={Peer} proxy={Proxy} authentication={Authentication} jwt_sub={JwtSubject} jwt_aud={JwtAudience} duration_ms={DurationMs} request_bytes={RequestBytes} response_bytes={ResponseBytes} remote={RemoteAddress} time={Time} trace={TraceId} reason={Reason}")]
    public static partial void Request(
        ILogger logger,
        string method,
        string? path,
        string? route,
        int? statusCode,
        string decision,
        string? policy,
        string? decisionSource,
        int? ruleIndex,
        string? decisionId,
        bool? cacheHit,
        string? caller,
        string? peer,
        string? proxy,
        string authentication,
        string? jwtSubject,
        string? jwtAudience,
        double? durationMs,
        long? requestBytes,
        long? responseBytes,
        string? remoteAddress,
        DateTimeOffset time,
        string? traceId,
        string? reason);

    [LoggerMessage(4101, LogLevel.Information, "SPIFFE audit: TLS handshake refused from {RemoteAddress}: {RefusalReason}; presented SPIFFE ID {Peer}; time={Time}; {Reason}")]
    public static partial void HandshakeRefused(ILogger logger, string? remoteAddress, string? refusalReason, string? peer, DateTimeOffset time, string? reason);

    [LoggerMessage(4102, LogLevel.Error, "SPIFFE audit sink {Sink} threw; the event was still given to the other sinks")]
    public static partial void SinkFailed(ILogger logger, string sink, Exception exception);
}

using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Audit;

/// <summary>The default sink: one structured log entry per event, category <c>Spiffe.Audit</c> (events 4100 and 4101).</summary>
internal sealed class SpiffeAuditLogSink(ILoggerFactory loggerFactory) : ISpiffeAuditSink
{
    private readonly ILogger _logger = loggerFactory.CreateLogger(SpiffeAuditLog.Category);

    public void Write(SpiffeAuditEvent auditEvent)
    {
        if (!_logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        if (auditEvent.Kind == SpiffeAuditEventKind.HandshakeRefused)
        {
            SpiffeAuditLog.HandshakeRefused(_logger, auditEvent.RemoteAddress, auditEvent.RefusalReason, auditEvent.PeerId?.ToString(), auditEvent.Timestamp, auditEvent.Reason);
            return;
        }

        SpiffeAuditLog.Request(
            _logger,
            auditEvent.Method ?? string.Empty,
            auditEvent.Path,
            auditEvent.RouteTemplate,
            auditEvent.StatusCode,
            Name(auditEvent.Decision),
            auditEvent.PolicyName,
            auditEvent.DecisionSource?.Source,
            auditEvent.DecisionSource?.RuleIndex,
            auditEvent.DecisionSource?.DecisionId,
            auditEvent.DecisionSource?.CacheHit,
            auditEvent.CallerId?.ToString(),
            auditEvent.PeerId?.ToString(),
            auditEvent.ProxyId?.ToString(),
            Name(auditEvent.Authentication),
            auditEvent.JwtSubject?.ToString(),
            auditEvent.JwtAudience.Count == 0 ? null : string.Join(",", auditEvent.JwtAudience),
            auditEvent.Duration?.TotalMilliseconds,
            auditEvent.RequestBytes,
            auditEvent.ResponseBytes,
            auditEvent.RemoteAddress,
            auditEvent.Timestamp,
            auditEvent.TraceIdentifier,
            auditEvent.Reason);
    }

    internal static string Name(SpiffeAuditDecision decision) => decision switch
    {
        SpiffeAuditDecision.Allowed => "allowed",
        SpiffeAuditDecision.Challenged => "challenged",
        SpiffeAuditDecision.Forbidden => "forbidden",
        SpiffeAuditDecision.Unavailable => "unavailable",
        _ => "none",
    };

    internal static string Name(SpiffeAuditAuthentication authentication) => authentication switch
    {
        SpiffeAuditAuthentication.Mtls => "mtls",
        SpiffeAuditAuthentication.JwtSvid => "jwt-svid",
        SpiffeAuditAuthentication.Mtls | SpiffeAuditAuthentication.JwtSvid => "mtls+jwt-svid",
        _ => "none",
    };
}

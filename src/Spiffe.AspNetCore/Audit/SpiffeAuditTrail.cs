using Microsoft.Extensions.Logging;
using Spiffe.Tls;

namespace Spiffe.AspNetCore.Audit;

/// <summary>Hands each audit event to every registered <see cref="ISpiffeAuditSink"/>; a failing sink is logged and skipped.</summary>
internal sealed class SpiffeAuditTrail(IEnumerable<ISpiffeAuditSink> sinks, ILoggerFactory loggerFactory, TimeProvider timeProvider)
{
    private readonly ISpiffeAuditSink[] _sinks = [.. sinks];
    private readonly ILogger _logger = loggerFactory.CreateLogger(SpiffeAuditLog.Category);

    public TimeProvider TimeProvider { get; } = timeProvider;

    public void Write(SpiffeAuditEvent auditEvent)
    {
        foreach (ISpiffeAuditSink sink in _sinks)
        {
            try
            {
                sink.Write(auditEvent);
            }
#pragma warning disable CA1031 // one failing destination must not fail the request or starve the others
            catch (Exception e)
#pragma warning restore CA1031
            {
                SpiffeAuditLog.SinkFailed(_logger, sink.GetType().FullName ?? sink.GetType().Name, e);
            }
        }
    }

    /// <summary>The <see cref="SpiffeTlsOptions.PeerRefused"/> hook of <c>UseSpiffeMtls</c> endpoints.</summary>
    public void HandshakeRefused(TlsPeerRefusal refusal)
    {
        if (refusal.Role != "server")
        {
            return;
        }

        Write(new SpiffeAuditEvent
        {
            Kind = SpiffeAuditEventKind.HandshakeRefused,
            Timestamp = TimeProvider.GetUtcNow(),
            PeerId = refusal.PresentedId,
            RefusalReason = refusal.Reason,
            Reason = refusal.Detail,
            RemoteAddress = refusal.Peer,
        });
    }
}

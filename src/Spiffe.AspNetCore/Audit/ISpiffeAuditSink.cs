namespace Spiffe.AspNetCore.Audit;

/// <summary>
/// A destination of the SPIFFE audit trail. Register any number with
/// <c>services.AddSingleton&lt;ISpiffeAuditSink, MySink&gt;()</c> besides <c>AddSpiffeAudit()</c>;
/// each receives every event, in addition to the default log sink (category <c>Spiffe.Audit</c>).
/// </summary>
/// <remarks>
/// <see cref="Write"/> runs on the request's thread when the request ends, and on the handshake's
/// thread for a refused TLS handshake: keep it short and non-blocking (hand the event to a queue for
/// a slow destination). An exception it throws is logged (event 4102) and does not affect the request
/// or the other sinks. Events never carry a token, a key or a certificate body.
/// </remarks>
public interface ISpiffeAuditSink
{
    /// <summary>Receives one audit event.</summary>
    void Write(SpiffeAuditEvent auditEvent);
}

namespace Spiffe.AspNetCore.Audit;

/// <summary>What a <see cref="SpiffeAuditEvent"/> records.</summary>
public enum SpiffeAuditEventKind
{
    /// <summary>An HTTP request (or gRPC call) that reached a SPIFFE authentication scheme or came over a SPIFFE mTLS connection.</summary>
    Request,

    /// <summary>A TLS handshake on a <c>UseSpiffeMtls</c> endpoint that refused the client.</summary>
    HandshakeRefused,
}

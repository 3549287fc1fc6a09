namespace Spiffe.AspNetCore;

/// <summary>
/// Set on <c>HttpContext.Features</c> by the mTLS scheme (<c>AddSpiffeX509</c>) when it accepted the
/// caller's identity from Envoy's <c>x-forwarded-client-cert</c> header, i.e. when the connection's
/// verified peer is one of <c>SpiffeX509AuthenticationOptions.TrustedProxies</c>. Absent otherwise.
/// </summary>
/// <remarks>
/// For the audit trail and policies that care about the path: <see cref="ProxySpiffeId"/> is what the
/// TLS handshake verified (<see cref="ISpiffePeerFeature"/>); <see cref="CallerSpiffeId"/> is what that
/// proxy vouched for (the principal's SPIFFE ID).
/// </remarks>
public interface ISpiffeForwardedCallerFeature
{
    /// <summary>The trusted proxy: the SPIFFE ID of this connection's verified mTLS peer.</summary>
    SpiffeId ProxySpiffeId { get; }

    /// <summary>The original caller: the <c>URI</c> of the header element the proxy added.</summary>
    SpiffeId CallerSpiffeId { get; }

    /// <summary>The <c>Hash</c> of that element (hex SHA-256 of the caller's certificate, as the proxy computed it), or null.</summary>
    string? CertificateHash { get; }
}

using System.Security.Cryptography.X509Certificates;

namespace Spiffe.AspNetCore;

/// <summary>
/// The X509-SVID peer that this connection's TLS handshake authenticated and authorized: set on the
/// connection by <c>UseSpiffeMtls</c> (<see cref="SpiffeListenOptionsExtensions"/>)
/// and nowhere else, and visible from every request on that connection (<c>HttpContext.Features</c>).
/// </summary>
/// <remarks>
/// This record is the only source of the caller's SPIFFE ID in Spiffe.AspNetCore: a client
/// certificate that reached the app any other way (certificate forwarding from a header,
/// middleware that sets <c>HttpContext.Connection.ClientCertificate</c>, a plain <c>UseHttps</c>
/// endpoint) is never a SPIFFE identity. The certificate belongs to the connection; do not dispose it.
/// </remarks>
public interface ISpiffePeerFeature
{
    /// <summary>The peer's SPIFFE ID, authenticated with the bundle of its own trust domain and allowed by the endpoint's authorizer.</summary>
    SpiffeId SpiffeId { get; }

    /// <summary>The peer's X509-SVID leaf as presented in the handshake (owned by the connection).</summary>
    X509Certificate2 Certificate { get; }
}

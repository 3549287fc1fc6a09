using System.Diagnostics.CodeAnalysis;
using System.Net.Security;
using Spiffe.X509;

namespace Spiffe.Tls;

/// <summary>Reads the peer's SPIFFE ID from an authenticated <see cref="SslStream"/>.</summary>
public static class SslStreamSpiffeExtensions
{
    /// <summary>
    /// The SPIFFE ID of the peer's X509-SVID. Use it after a handshake authenticated by
    /// <see cref="SpiffeTlsServer"/> or <see cref="SpiffeTlsClient"/>: it reads the ID, it does not authenticate.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stream is not authenticated, or the peer presented no X509-SVID.</exception>
    public static SpiffeId GetRemoteSpiffeId(this SslStream stream) =>
        TryGetRemoteSpiffeId(stream, out SpiffeId? id)
            ? id
            : throw new InvalidOperationException(stream.IsAuthenticated
                ? "The TLS peer presented no X509-SVID (no certificate, or one without a single SPIFFE ID URI SAN)."
                : "The TLS stream is not authenticated yet: call this after the handshake completes.");

    /// <summary>Gets the SPIFFE ID of the peer's X509-SVID; false when the stream is not authenticated or the peer presented none.</summary>
    public static bool TryGetRemoteSpiffeId(this SslStream stream, [NotNullWhen(true)] out SpiffeId? id)
    {
        ArgumentNullException.ThrowIfNull(stream);
        id = null;
        if (!stream.IsAuthenticated || stream.RemoteCertificate is not { } certificate)
        {
            return false;
        }

        return certificate.TryGetSpiffeId(out id);
    }
}

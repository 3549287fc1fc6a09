using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography.X509Certificates;

namespace Spiffe.X509;

/// <summary>Reads the SPIFFE ID of a certificate that has the shape of an X509-SVID leaf.</summary>
public static class X509CertificateSpiffeExtensions
{
    /// <summary>
    /// Gets the SPIFFE ID of <paramref name="certificate"/> when it meets the X509-SVID leaf rules
    /// (exactly one URI SAN holding a SPIFFE ID with a path, not a CA, Key Usage rules). It reads,
    /// it does not authenticate: use it on a certificate a TLS handshake has already validated.
    /// </summary>
    public static bool TryGetSpiffeId(this X509Certificate certificate, [NotNullWhen(true)] out SpiffeId? id)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ReadOnlySpan<byte> der = certificate is X509Certificate2 leaf ? leaf.RawDataMemory.Span : certificate.GetRawCertData();
        return SvidLeafRules.TryCheckLeaf(der, out id, out _, out _, out _);
    }
}

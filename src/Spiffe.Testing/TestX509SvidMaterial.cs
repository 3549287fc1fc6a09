using System.Security.Cryptography.X509Certificates;
using Spiffe.X509;

namespace Spiffe.Testing;

/// <summary>
/// A minted X509-SVID as raw bytes in the Workload API's format, possibly deliberately broken:
/// the chain as DER certificates (leaf first) and the PKCS#8 private key.
/// </summary>
public sealed class TestX509SvidMaterial
{
    private readonly byte[][] _certificates;
    private readonly byte[] _privateKey;

    internal TestX509SvidMaterial(byte[][] certificates, byte[] privateKey)
    {
        _certificates = certificates;
        _privateKey = privateKey;
    }

    /// <summary>Each certificate's DER, leaf first.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> CertificatesDer => [.. _certificates.Select(c => (ReadOnlyMemory<byte>)c)];

    /// <summary>The leaf certificate's DER.</summary>
    public ReadOnlyMemory<byte> LeafDer => _certificates[0];

    /// <summary>The chain as concatenated DER, leaf first (the Workload API's <c>x509_svid</c>).</summary>
    public byte[] ChainDer => [.. _certificates.SelectMany(c => c)];

    /// <summary>The private key as unencrypted PKCS#8 DER (the Workload API's <c>x509_svid_key</c>); a copy.</summary>
    public byte[] PrivateKeyPkcs8 => [.. _privateKey];

    /// <summary>Loads the chain as certificates (without the key); the caller disposes them.</summary>
    public X509Certificate2[] LoadCertificates() => [.. _certificates.Select(c => X509CertificateLoader.LoadCertificate(c))];

    /// <summary>Parses the material with <see cref="X509Svid.Parse"/>.</summary>
    /// <exception cref="X509SvidException">The material breaks an X509-SVID rule (as deliberately broken material does).</exception>
    public X509Svid ToX509Svid(string? hint = null) => X509Svid.Parse(ChainDer, _privateKey, hint);
}

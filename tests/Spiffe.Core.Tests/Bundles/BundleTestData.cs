using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Spiffe.Core.Tests.Bundles;

/// <summary>Self-signed CA certificates and JWK snippets for bundle tests.</summary>
internal static class BundleTestData
{
    internal static readonly TrustDomain Domain = TrustDomain.Parse("example.org");

    internal static readonly X509Certificate2 RootA = CreateRoot("Root A");

    internal static readonly X509Certificate2 RootB = CreateRoot("Root B");

    internal static readonly X509Certificate2 RootRsa = CreateRoot("Root RSA", rsa: true);

    internal static string Base64(X509Certificate2 certificate) => Convert.ToBase64String(certificate.RawData);

    /// <summary>An x509-svid JWK whose x5c holds the given certificates (no kid).</summary>
    internal static string X509Jwk(params X509Certificate2[] chain) =>
        "{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[" + string.Join(",", chain.Select(c => "\"" + Base64(c) + "\"")) + "]}";

    internal static X509Certificate2 CreateRoot(string name, bool rsa = false)
    {
        using AsymmetricAlgorithm key = rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificateRequest request = key is RSA r
            ? new CertificateRequest("CN=" + name, r, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest("CN=" + name, (ECDsa)key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using X509Certificate2 withKey = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadCertificate(withKey.RawData);
    }
}

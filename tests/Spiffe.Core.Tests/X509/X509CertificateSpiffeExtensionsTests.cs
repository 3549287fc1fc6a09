using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Core.Tests.X509;

public sealed class X509CertificateSpiffeExtensionsTests
{
    [Fact]
    public void TryGetSpiffeId_SvidLeaf_ReturnsItsId_CaCertificateAndNoUriSan_ReturnFalse()
    {
        var id = SpiffeId.Parse("spiffe://example.org/web");
        using var ca = TestCertificateAuthority.Create(id.TrustDomain, new() { WithIntermediate = true });
        using X509Svid svid = ca.CreateX509Svid(id);
        System.Security.Cryptography.X509Certificates.X509Certificate2[] noUri = ca.CreateX509SvidMaterial(id, new TestX509SvidOptions { UriSans = [], DnsNames = ["web"] }).LoadCertificates();

        Assert.True(svid.Certificate.TryGetSpiffeId(out SpiffeId? read));
        Assert.Equal(id, read);
        Assert.False(ca.IntermediateCertificate!.TryGetSpiffeId(out _));
        Assert.False(ca.RootCertificate.TryGetSpiffeId(out _));
        Assert.False(noUri[0].TryGetSpiffeId(out SpiffeId? none));
        Assert.Null(none);
        foreach (var certificate in noUri)
        {
            certificate.Dispose();
        }
    }
}

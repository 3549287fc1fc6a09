using Spiffe.Bundles;
using Spiffe.Testing;

namespace Spiffe.Core.Tests.Bundles;

public sealed class X509BundleTests
{
    private static readonly TrustDomain s_td = TrustDomain.Parse("example.org");

    [Fact]
    public void FromDer_TwoConcatenatedCertificates_HasTwoAuthoritiesInOrder()
    {
        using var ca1 = TestCertificateAuthority.Create(s_td);
        using var ca2 = TestCertificateAuthority.Create(s_td, new() { KeyType = TestKeyType.EcdsaP384 });
        byte[] der = [.. ca1.RootCertificate.RawData, .. ca2.RootCertificate.RawData];

        using X509Bundle bundle = X509Bundle.FromDer(s_td, der);

        Assert.Equal(2, bundle.X509Authorities.Count);
        Assert.Equal(ca1.RootCertificate.RawData, bundle.X509Authorities[0].RawData);
        Assert.Equal(ca2.RootCertificate.RawData, bundle.X509Authorities[1].RawData);
        Assert.Equal(der, bundle.ToDer());
    }

    [Fact]
    public void FromPem_ToPem_RoundTrips()
    {
        using var ca1 = TestCertificateAuthority.Create(s_td);
        using var ca2 = TestCertificateAuthority.Create(s_td);
        using var original = X509Bundle.FromDer(s_td, [.. ca1.RootCertificate.RawData, .. ca2.RootCertificate.RawData]);

        using X509Bundle copy = X509Bundle.FromPem(s_td, original.ToPem());

        Assert.Equal(2, copy.X509Authorities.Count);
        Assert.Equal(original.ToDer(), copy.ToDer());
        Assert.True(copy.Contains(ca2.RootCertificate));
    }

    [Theory]
    [InlineData("empty", new byte[0])]
    [InlineData("garbage", new byte[] { 0x01, 0x02, 0x03 })]
    [InlineData("DER that is not a certificate", new byte[] { 0x30, 0x03, 0x02, 0x01, 0x00 })]
    [InlineData("truncated", new byte[] { 0x30, 0x82, 0x01 })]
    public void FromDer_NotCertificates_ThrowsFormatException(string scenario, byte[] der)
    {
        FormatException e = Assert.Throws<FormatException>(() => X509Bundle.FromDer(s_td, der));

        Assert.False(string.IsNullOrEmpty(e.Message), scenario);
    }

    [Theory]
    [InlineData("no block", "hello")]
    [InlineData("key block", "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n")]
    public void FromPem_NoCertificateBlocks_ThrowsFormatException(string scenario, string pem)
    {
        FormatException e = Assert.Throws<FormatException>(() => X509Bundle.FromPem(s_td, pem));

        Assert.False(string.IsNullOrEmpty(e.Message), scenario);
    }

    [Theory]
    [InlineData("example.org", true)]
    [InlineData("other.org", false)]
    [InlineData("example.org.evil", false)]
    public void GetX509Bundle_TrustDomain_ReturnsItselfOnlyForItsOwn(string trustDomain, bool expectSelf)
    {
        using var ca = TestCertificateAuthority.Create(s_td);
        using X509Bundle bundle = ca.CreateX509Bundle();

        X509Bundle? found = bundle.GetX509Bundle(TrustDomain.Parse(trustDomain));

        if (expectSelf)
        {
            Assert.Same(bundle, found);
        }
        else
        {
            Assert.Null(found);
        }
    }
}

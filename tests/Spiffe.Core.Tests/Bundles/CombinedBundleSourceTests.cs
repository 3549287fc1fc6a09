using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;

namespace Spiffe.Core.Tests.Bundles;

public sealed class CombinedBundleSourceTests
{
    private static readonly TrustDomain s_local = TrustDomain.Parse("example.org");
    private static readonly TrustDomain s_partner = TrustDomain.Parse("partner.org");

    [Fact]
    public void GetX509Bundle_TrustDomainInSeveralSources_FirstSourceWins()
    {
        using TestCertificateAuthority first = TestCertificateAuthority.Create(s_partner);
        using TestCertificateAuthority second = TestCertificateAuthority.Create(s_partner);
        using X509Bundle firstBundle = first.CreateX509Bundle();
        using X509Bundle secondBundle = second.CreateX509Bundle();

        var combined = new CombinedX509BundleSource(new MutableBundleSource(firstBundle), new MutableBundleSource(secondBundle));

        Assert.Same(firstBundle, combined.GetX509Bundle(s_partner));
        Assert.Same(firstBundle, Assert.Single(combined.GetX509BundleSet()));
        Assert.Null(combined.GetX509Bundle(s_local));
    }

    [Fact]
    public void GetX509BundleSet_SameUntilASourceChanges_ThenNewSetWithEveryTrustDomain()
    {
        using TestCertificateAuthority local = TestCertificateAuthority.Create(s_local);
        using TestCertificateAuthority partner = TestCertificateAuthority.Create(s_partner);
        using X509Bundle localBundle = local.CreateX509Bundle();
        using X509Bundle partnerBundle = partner.CreateX509Bundle();
        var own = new MutableBundleSource(localBundle);
        var federated = new MutableBundleSource();
        var combined = new CombinedX509BundleSource(own, federated);
        X509BundleSet before = combined.GetX509BundleSet();

        Assert.Same(before, combined.GetX509BundleSet());
        federated.Bundles = new X509BundleSet([partnerBundle]);
        X509BundleSet after = combined.GetX509BundleSet();

        Assert.NotSame(before, after);
        Assert.Equal(2, after.Count);
        Assert.Same(partnerBundle, after.GetX509Bundle(s_partner));
        Assert.Same(after, combined.GetX509BundleSet());
    }

    [Fact]
    public void Constructor_NoSource_Throws()
    {
        Assert.Throws<ArgumentException>(() => new CombinedX509BundleSource());
        Assert.Throws<ArgumentException>(() => new CombinedJwtBundleSource());
    }

    [Fact]
    public void GetJwtBundle_FirstSourceWithTheTrustDomain_NeverAnother()
    {
        using var localAuthority = new TestJwtAuthority(s_local);
        using var partnerAuthority = new TestJwtAuthority(s_partner);
        localAuthority.AddKey("ES256", "l");
        partnerAuthority.AddKey("ES256", "p");
        JwtBundle local = localAuthority.CreateJwtBundle();
        JwtBundle partner = partnerAuthority.CreateJwtBundle();

        var combined = new CombinedJwtBundleSource(local, partner);

        Assert.Same(local, combined.GetJwtBundle(s_local));
        Assert.Same(partner, combined.GetJwtBundle(s_partner));
        Assert.Null(combined.GetJwtBundle(TrustDomain.Parse("other.org")));
    }
}

using Spiffe.Bundles;

namespace Spiffe.Core.Tests.Bundles;

public sealed class X509BundleSetTests
{
    [Fact]
    public void Constructor_DistinctTrustDomains_IndexesEachBundle()
    {
        using var a = new X509Bundle(TrustDomain.Parse("a.org"), []);
        using var b = new X509Bundle(TrustDomain.Parse("b.org"), []);

        var set = new X509BundleSet([a, b]);

        Assert.Equal(2, set.Count);
        Assert.Equal([a, b], set.ToArray());
        Assert.True(set.TryGet(TrustDomain.Parse("b.org"), out X509Bundle? found));
        Assert.Same(b, found);
        Assert.Same(a, set.GetX509Bundle(TrustDomain.Parse("a.org")));
    }

    [Fact]
    public void GetX509BundleSet_SetAndBundle_ReturnOneStableInstance()
    {
        using var a = new X509Bundle(TrustDomain.Parse("a.org"), []);
        var set = new X509BundleSet([a]);

        X509BundleSet fromBundle = a.GetX509BundleSet();

        Assert.Same(set, set.GetX509BundleSet());
        Assert.Same(fromBundle, a.GetX509BundleSet());
        Assert.Same(a, Assert.Single(fromBundle));
    }

    [Theory]
    [InlineData("c.org")]
    [InlineData("a.org.evil")]
    public void GetX509Bundle_UnknownTrustDomain_ReturnsNull(string trustDomain)
    {
        using var a = new X509Bundle(TrustDomain.Parse("a.org"), []);
        var set = new X509BundleSet([a]);

        Assert.Null(set.GetX509Bundle(TrustDomain.Parse(trustDomain)));
        Assert.False(set.TryGet(TrustDomain.Parse(trustDomain), out X509Bundle? none));
        Assert.Null(none);
    }

    [Fact]
    public void Constructor_DuplicateTrustDomain_ThrowsArgumentException()
    {
        using var a1 = new X509Bundle(TrustDomain.Parse("a.org"), []);
        using var a2 = new X509Bundle(TrustDomain.Parse("a.org"), []);

        ArgumentException e = Assert.Throws<ArgumentException>(() => new X509BundleSet([a1, a2]));

        Assert.Contains("a.org", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_Empty_TrustsNothing()
    {
        var set = new X509BundleSet([]);

        Assert.Empty(set);
        Assert.Null(set.GetX509Bundle(TrustDomain.Parse("a.org")));
    }
}

using Spiffe.Bundles;
using Spiffe.Jwt;
using static Spiffe.Core.Tests.Bundles.BundleTestData;
using static Spiffe.Core.Tests.Jwt.JwtTestKeys;

namespace Spiffe.Core.Tests.Bundles;

public class BundleSetTests
{
    [Theory]
    [InlineData("example.org", true)]
    [InlineData("other.org", true)]
    [InlineData("third.org", false)]
    [InlineData("example.org.evil", false)]
    public void JwtBundleSet_GetJwtBundle_ByTrustDomain(string name, bool present)
    {
        var set = new JwtBundleSet([new JwtBundle(TrustDomain.Parse("example.org")), new JwtBundle(TrustDomain.Parse("other.org"))]);

        JwtBundle? bundle = set.GetJwtBundle(TrustDomain.Parse(name));

        Assert.Equal(present, bundle is not null);
        Assert.Equal(present ? name : null, bundle?.TrustDomain.Name);
        Assert.Equal(2, set.Count);
    }

    [Fact]
    public void JwtBundleSet_DuplicateTrustDomain_Throws()
    {
        Assert.Throws<ArgumentException>(() => new JwtBundleSet([new JwtBundle(Domain), new JwtBundle(TrustDomain.Parse("example.org"))]));
    }

    [Theory]
    [InlineData("example.org", true)]
    [InlineData("third.org", false)]
    public void SpiffeBundleSet_GetBundles_ByTrustDomain(string name, bool present)
    {
        using SpiffeBundle a = SpiffeBundle.Parse(Domain, "{\"keys\":[" + X509Jwk(RootA) + "]}");
        using SpiffeBundle b = SpiffeBundle.Parse(TrustDomain.Parse("other.org"), "{\"keys\":[]}");
        var set = new SpiffeBundleSet([a, b]);
        TrustDomain td = TrustDomain.Parse(name);

        Assert.Equal(present, set.GetSpiffeBundle(td) is not null);
        Assert.Equal(present, set.GetX509Bundle(td) is not null);
        Assert.Equal(present, set.GetJwtBundle(td) is not null);
        Assert.Equal(2, set.Count);
    }

    [Fact]
    public void SpiffeBundleSet_DuplicateTrustDomain_Throws()
    {
        using SpiffeBundle a = SpiffeBundle.Parse(Domain, "{\"keys\":[]}");
        using SpiffeBundle b = SpiffeBundle.Parse(Domain, "{\"keys\":[]}");

        Assert.Throws<ArgumentException>(() => new SpiffeBundleSet([a, b]));
    }

    // Rule 77: Workload API JWT bundles are keyed by trust domain SPIFFE ID.
    [Theory]
    [InlineData("spiffe://example.org")]
    [InlineData("example.org")]
    public void JwtBundleSet_KeyedByTrustDomainId_ValidatesThatTrustDomainsTokens(string key)
    {
        var set = new JwtBundleSet([JwtBundle.Parse(TrustDomain.Parse(key), A.CreateJwks())]);

        Assert.Equal("spiffe://example.org/web", new JwtSvidValidator(set, ["svc"], Clock()).Validate(ValidA()).Svid?.Id.ToString());
    }

    // Rule 75: bundles stay bound to their trust domain inside a set.
    [Fact]
    public void JwtBundleSet_TokenOfOtherTrustDomainSignedWithFirstsKey_Rejected()
    {
        var set = new JwtBundleSet([JwtBundle.Parse(DomainA, A.CreateJwks()), JwtBundle.Parse(DomainB, A.CreateJwks())]);
        string token = SignA("ES256", Header("ES256"), Claims(sub: "\"spiffe://third.org/web\""));

        Assert.NotNull(set.GetJwtBundle(DomainB));
        JwtSvidValidationResult result = new JwtSvidValidator(set, ["svc"], Clock()).Validate(token);
        Assert.Equal(JwtSvidErrorKind.NoBundle, result.ErrorKind);
        Assert.Contains("third.org", result.Error, StringComparison.Ordinal);
    }
}

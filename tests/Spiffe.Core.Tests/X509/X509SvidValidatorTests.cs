using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Core.Tests.X509;

public sealed class X509SvidValidatorTests
{
    private static readonly DateTimeOffset s_start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, X509SvidErrorKind> LeafCases => SvidCases.All;

    [Theory]
    [MemberData(nameof(LeafCases))]
    public void Validate_LeafRuleCase_MatchesHolderVerdict(string caseName, X509SvidErrorKind expected)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id, SvidCases.Options(caseName));

        X509SvidValidationResult result = validator.Validate(material.ChainDer);

        Assert.Equal(expected, result.ErrorKind);
        Assert.Equal(expected == X509SvidErrorKind.None, result.IsValid);
        if (result.IsValid)
        {
            Assert.False(result.SpiffeId.IsTrustDomainId);
            Assert.Null(result.Error);
        }
        else
        {
            Assert.Null(result.SpiffeId);
            Assert.Contains("§", result.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("R33 intermediate CA as end entity", true)]
    [InlineData("R33 root CA as end entity", false)]
    public void Validate_CertificateAuthorityPresentedAsLeaf_Rejects(string rule, bool intermediate)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);
        X509Certificate2 presented = intermediate ? ca.IntermediateCertificate! : ca.RootCertificate;

        X509SvidValidationResult result = validator.Validate([presented]);

        Assert.False(result.IsValid, rule);
        Assert.Equal(X509SvidErrorKind.LeafIsCertificateAuthority, result.ErrorKind);
    }

    [Theory]
    [InlineData("R33/R34 leaf via intermediate to root", true, true)]
    [InlineData("R34 leaf signed directly by root", false, true)]
    [InlineData("R34 leaf with intermediate missing from chain", true, false)]
    public void Validate_PathToBundleRoot_AcceptsOnlyCompletePaths(string rule, bool withIntermediate, bool sendIntermediate)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = withIntermediate });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id, new() { OmitIntermediateFromChain = !sendIntermediate });

        X509SvidValidationResult result = validator.Validate(material.ChainDer);

        Assert.True(sendIntermediate == result.IsValid, $"{rule}: {result}");
        if (result.IsValid)
        {
            Assert.Equal(SvidCases.Id, result.SpiffeId);
        }
        else
        {
            Assert.Equal(X509SvidErrorKind.UntrustedChain, result.ErrorKind);
        }
    }

    public static TheoryData<string> UntrustedChainCases => new()
    {
        "unknown root with the same trust domain name",
        "expired leaf",
        "not yet valid leaf",
        "expired intermediate",
        "expired root",
        "tampered leaf signature",
        "root pathLen=0 with one intermediate",
    };

    [Theory]
    [MemberData(nameof(UntrustedChainCases))]
    public void Validate_R34PathValidationFailure_RejectsAsUntrustedChain(string scenario)
    {
        var clock = new FakeTimeProvider(s_start);
        var caOptions = new TestCertificateAuthorityOptions { WithIntermediate = true, TimeProvider = clock };
        var svidOptions = new TestX509SvidOptions();
        switch (scenario)
        {
            case "expired leaf":
                svidOptions.NotBefore = s_start.AddHours(-2);
                svidOptions.NotAfter = s_start.AddHours(-1);
                break;
            case "not yet valid leaf":
                svidOptions.NotBefore = s_start.AddHours(1);
                break;
            case "expired intermediate":
                caOptions.IntermediateNotAfter = s_start.AddMinutes(-1);
                break;
            case "expired root":
                caOptions.NotAfter = s_start.AddMinutes(-1);
                break;
            case "root pathLen=0 with one intermediate":
                caOptions.RootPathLengthConstraint = 0;
                break;
        }

        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, caOptions);
        using var impostor = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { TimeProvider = clock });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle, clock);
        TestCertificateAuthority issuer = scenario.StartsWith("unknown root", StringComparison.Ordinal) ? impostor : ca;
        byte[] chain = issuer.CreateX509SvidMaterial(SvidCases.Id, svidOptions).ChainDer;
        if (scenario == "tampered leaf signature")
        {
            int leafLength = X509CertificateLoader.LoadCertificate(chain).RawData.Length;
            chain[leafLength - 1] ^= 0x01;
        }

        X509SvidValidationResult result = validator.Validate(chain);

        Assert.False(result.IsValid, scenario);
        Assert.Equal(X509SvidErrorKind.UntrustedChain, result.ErrorKind);
        Assert.Contains("example.org", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("R31 intermediate with cA=false", false, X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)]
    [InlineData("R31 intermediate without keyCertSign", true, X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.CrlSign)]
    [InlineData("R31 intermediate that is a CA with keyCertSign", true, X509KeyUsageFlags.KeyCertSign)]
    public void Validate_IntermediateCertificateAuthorityRules_RejectsNonCaIntermediates(string rule, bool isCa, X509KeyUsageFlags usage)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true, IntermediateIsCertificateAuthority = isCa, IntermediateKeyUsage = usage });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);
        bool expectValid = isCa && usage.HasFlag(X509KeyUsageFlags.KeyCertSign);

        X509SvidValidationResult result = validator.Validate(ca.CreateX509SvidMaterial(SvidCases.Id).ChainDer);

        Assert.True(expectValid == result.IsValid, $"{rule}: {result}");
        if (!expectValid)
        {
            // Either OpenSSL's path validation or our own signing-certificate check may catch it first.
            Assert.Contains(result.ErrorKind, new[] { X509SvidErrorKind.UntrustedChain, X509SvidErrorKind.SigningCertificate });
        }
    }

    [Theory]
    [InlineData("R32 intermediate with the trust domain ID", "spiffe://example.org")]
    [InlineData("R32 intermediate with a path ID (issuer violation, not checked by validators)", "spiffe://example.org/ca")]
    [InlineData("R32 intermediate without URI SAN", null)]
    public void Validate_IntermediateSpiffeId_IsNotAValidatorConcern(string rule, string? intermediateUri)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true, IntermediateUriSans = intermediateUri is null ? [] : [intermediateUri] });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);

        X509SvidValidationResult result = validator.Validate(ca.CreateX509SvidMaterial(SvidCases.Id).ChainDer);

        Assert.True(result.IsValid, $"{rule}: {result}");
        using X509Svid svid = ca.CreateX509Svid(SvidCases.Id);
        Assert.Equal(SvidCases.Id, svid.Id);
    }

    public static TheoryData<string, string, string, bool> TrustDomainSelectionCases => new()
    {
        // (rule, trust domain of the leaf's ID, trust domain of the issuing CA, accepted)
        { "R39 B's own leaf", "b.org", "b.org", true },
        { "R39 A's own leaf", "a.org", "a.org", true },
        { "R39 ID in B signed by A's CA", "b.org", "a.org", false },
        { "R39 ID in A signed by B's CA", "a.org", "b.org", false },
        { "R38 ID in C (no bundle) signed by A's CA", "c.org", "a.org", false },
    };

    [Theory]
    [MemberData(nameof(TrustDomainSelectionCases))]
    public void Validate_BundleSelection_UsesOnlyTheLeafTrustDomainBundle(string rule, string leafTrustDomain, string issuerTrustDomain, bool accepted)
    {
        using var caA = TestCertificateAuthority.Create(TrustDomain.Parse("a.org"));
        using var caB = TestCertificateAuthority.Create(TrustDomain.Parse("b.org"));
        using X509Bundle bundleA = caA.CreateX509Bundle();
        using X509Bundle bundleB = caB.CreateX509Bundle();
        var validator = new X509SvidValidator(new X509BundleSet([bundleA, bundleB]));
        TestCertificateAuthority issuer = issuerTrustDomain == "a.org" ? caA : caB;
        var id = SpiffeId.Parse($"spiffe://{leafTrustDomain}/workload");

        X509SvidValidationResult result = validator.Validate(issuer.CreateX509SvidMaterial(id).ChainDer);

        Assert.True(accepted == result.IsValid, $"{rule}: {result}");
        if (accepted)
        {
            Assert.Equal(id, result.SpiffeId);
        }
        else
        {
            Assert.Equal(leafTrustDomain == "c.org" ? X509SvidErrorKind.NoBundle : X509SvidErrorKind.UntrustedChain, result.ErrorKind);
        }
    }

    [Fact]
    public void Validate_R38PeerOfOtherTrustDomainSignedByLocalCa_RejectsWithNoBundle()
    {
        using var local = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Bundle bundle = local.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);

        X509SvidValidationResult result = validator.Validate(local.CreateX509SvidMaterial(SpiffeId.Parse("spiffe://other.example.org/x")).ChainDer);

        Assert.Equal(X509SvidErrorKind.NoBundle, result.ErrorKind);
        Assert.Equal("No X.509 bundle for trust domain 'other.example.org': its SVIDs are not trusted.", result.Error);
    }

    [Theory]
    [InlineData("leaf only", true)]
    [InlineData("leaf and intermediate", false)]
    public void Validate_R37BundleHoldingOnlyTheIntermediate_IsRejectedByDotNetPathBuilder(string scenario, bool omitIntermediate)
    {
        // Rule 37 says a non-self-signed bundle CA should work as a trust anchor. .NET's
        // CustomRootTrust on Linux (OpenSSL without partial-chain mode) reports PartialChain instead.
        // This records today's behaviour; if the platform changes, this test tells us.
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });
        using var bundle = new X509Bundle(SvidCases.TrustDomain, [X509CertificateLoader.LoadCertificate(ca.IntermediateCertificate!.RawData)]);
        var validator = new X509SvidValidator(bundle);

        X509SvidValidationResult result = validator.Validate(ca.CreateX509SvidMaterial(SvidCases.Id, new() { OmitIntermediateFromChain = omitIntermediate }).ChainDer);

        Assert.True(result.ErrorKind == X509SvidErrorKind.UntrustedChain, $"{scenario}: {result}");
        Assert.Contains("PartialChain", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EmptyBundle_RejectsWithNoBundle()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using var empty = new X509Bundle(SvidCases.TrustDomain, []);
        var validator = new X509SvidValidator(empty);

        X509SvidValidationResult result = validator.Validate(ca.CreateX509SvidMaterial(SvidCases.Id).ChainDer);

        Assert.Equal(X509SvidErrorKind.NoBundle, result.ErrorKind);
    }

    [Theory]
    [InlineData("empty list", 0)]
    [InlineData("empty DER", 1)]
    [InlineData("garbage DER", 2)]
    public void Validate_NothingUsablePresented_RejectsAsMalformed(string scenario, int variant)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);

        X509SvidValidationResult result = variant switch
        {
            0 => validator.Validate(Array.Empty<X509Certificate2>()),
            1 => validator.Validate(ReadOnlySpan<byte>.Empty),
            _ => validator.Validate([0x30, 0x03, 0x01, 0x01]),
        };

        Assert.True(result.ErrorKind == X509SvidErrorKind.Malformed, scenario);
    }

    [Fact]
    public void Validate_ListAndDerOverloads_AgreeAndLeaveCallerCertificatesUsable()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle, cacheSize: 0);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id);
        X509Certificate2[] certificates = material.LoadCertificates();

        X509SvidValidationResult fromList = validator.Validate(certificates);
        X509SvidValidationResult fromDer = validator.Validate(material.ChainDer);

        Assert.True(fromList.IsValid, fromList.ToString());
        Assert.True(fromDer.IsValid, fromDer.ToString());
        Assert.Equal(fromList.SpiffeId, fromDer.SpiffeId);
        // Chain element disposal must not touch the caller's or the bundle's certificates.
        Assert.Equal(material.LeafDer.ToArray(), certificates[0].RawData);
        Assert.NotEmpty(bundle.X509Authorities[0].Thumbprint);
        Assert.True(validator.Validate(certificates).IsValid);
        foreach (X509Certificate2 c in certificates)
        {
            c.Dispose();
        }
    }

    [Fact]
    public void Constructor_NegativeCacheSize_Throws()
    {
        using var bundle = new X509Bundle(SvidCases.TrustDomain, []);

        Assert.Throws<ArgumentOutOfRangeException>(() => new X509SvidValidator(bundle, cacheSize: -1));
    }
}

using Google.Protobuf;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.WorkloadApi.Internal;
using Spiffe.WorkloadApi.Protocol;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>
/// A watch keeps the CA certificates of its last state (<see cref="KnownCertificates"/>) and
/// offers them to the next parse. Reuse must change nothing but the decoding cost: results own
/// their certificates, and every check still runs on the new message.
/// </summary>
public sealed class KnownCertificatesTests
{
    private static readonly SpiffeId s_id = SpiffeId.Parse("spiffe://example.org/web");
    private static readonly TrustDomain s_partner = TrustDomain.Parse("partner.org");

    private static ResponseParser NewParser() => new(WorkloadApiAddress.Parse("unix:///tmp/known-certificates-tests.sock"), TimeProvider.System);

    private static X509SVIDResponse Response(TestX509SvidMaterial material, byte[] bundle, byte[]? federatedRoot = null)
    {
        var response = new X509SVIDResponse();
        response.Svids.Add(new X509SVID
        {
            SpiffeId = s_id.ToString(),
            X509Svid = ByteString.CopyFrom(material.ChainDer),
            X509SvidKey = ByteString.CopyFrom(material.PrivateKeyPkcs8),
            Bundle = ByteString.CopyFrom(bundle),
        });
        if (federatedRoot is not null)
        {
            response.FederatedBundles.Add("spiffe://partner.org", ByteString.CopyFrom(federatedRoot));
        }

        return response;
    }

    [Fact]
    public void ParseX509Context_RotationWithKnownCertificates_ResultOutlivesPreviousStateAndKnown()
    {
        using var ca = TestCertificateAuthority.Create(s_id.TrustDomain, new() { WithIntermediate = true });
        using var partner = TestCertificateAuthority.Create(s_partner);
        ResponseParser parser = NewParser();
        var known = new KnownCertificates();
        byte[] root = ca.RootCertificate.RawData;
        byte[] partnerRoot = partner.RootCertificate.RawData;

        X509Context first = known.Remember(parser.ParseX509Context(Response(ca.CreateX509SvidMaterial(s_id), root, partnerRoot), known.Certificates));
        Assert.Equal(3, known.Certificates.Count);
        Assert.All(known.Certificates, c => Assert.False(c.HasPrivateKey));
        first.Dispose();

        TestX509SvidMaterial rotatedMaterial = ca.CreateX509SvidMaterial(s_id);
        using X509Context rotated = known.Remember(parser.ParseX509Context(Response(rotatedMaterial, root, partnerRoot), known.Certificates));
        known.Dispose();

        Assert.Empty(known.Certificates);
        Assert.Equal(rotatedMaterial.ChainDer, rotated.DefaultSvid.ToDer());
        Assert.Equal(root, rotated.Bundles.GetX509Bundle(s_id.TrustDomain)!.ToDer());
        Assert.Equal(partnerRoot, rotated.Bundles.GetX509Bundle(s_partner)!.ToDer());
        X509SvidValidationResult result = new X509SvidValidator(rotated.Bundles, cacheSize: 0).Validate(rotated.DefaultSvid.Chain);
        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public void ParseX509Context_KnownRootButSvidFromAnotherAuthority_StillRejectedWithSameMessage()
    {
        using var ca = TestCertificateAuthority.Create(s_id.TrustDomain, new() { WithIntermediate = true });
        using var impostor = TestCertificateAuthority.Create(s_id.TrustDomain, new() { WithIntermediate = true });
        ResponseParser parser = NewParser();
        using var known = new KnownCertificates();
        byte[] root = ca.RootCertificate.RawData;
        known.Remember(parser.ParseX509Context(Response(ca.CreateX509SvidMaterial(s_id), root), known.Certificates)).Dispose();
        X509SVIDResponse forged = Response(impostor.CreateX509SvidMaterial(s_id), root);

        WorkloadApiException fresh = Assert.Throws<WorkloadApiException>(() => parser.ParseX509Context(forged));
        WorkloadApiException reused = Assert.Throws<WorkloadApiException>(() => parser.ParseX509Context(forged, known.Certificates));

        Assert.Equal(WorkloadApiErrorKind.MalformedResponse, reused.Kind);
        Assert.Contains("does not verify against its own bundle", reused.Message, StringComparison.Ordinal);
        Assert.Equal(fresh.Message, reused.Message);
    }

    [Fact]
    public void ParseX509Bundles_KnownAuthorities_NewSetOwnsItsCertificates()
    {
        using var ca = TestCertificateAuthority.Create(s_id.TrustDomain);
        using var partner = TestCertificateAuthority.Create(s_partner);
        ResponseParser parser = NewParser();
        var response = new X509BundlesResponse();
        response.Bundles.Add("spiffe://example.org", ByteString.CopyFrom(ca.RootCertificate.RawData));
        response.Bundles.Add("spiffe://partner.org", ByteString.CopyFrom(partner.RootCertificate.RawData));
        var known = new KnownCertificates();

        DisposeAll(known.Remember(parser.ParseX509Bundles(response, known.Certificates)));
        Assert.Equal(2, known.Certificates.Count);
        X509BundleSet next = known.Remember(parser.ParseX509Bundles(response, known.Certificates));
        known.Dispose();

        Assert.Equal(ca.RootCertificate.RawData, next.GetX509Bundle(s_id.TrustDomain)!.ToDer());
        Assert.Equal(partner.RootCertificate.RawData, next.GetX509Bundle(s_partner)!.X509Authorities[0].RawData);
        DisposeAll(next);
    }

    private static void DisposeAll(X509BundleSet bundles)
    {
        foreach (X509Bundle bundle in bundles)
        {
            bundle.Dispose();
        }
    }

    [Fact]
    public void Remember_SameAuthorityInSvidChainAndBundles_KeptOnce()
    {
        using var ca = TestCertificateAuthority.Create(s_id.TrustDomain, new() { WithIntermediate = true });
        ResponseParser parser = NewParser();
        using var known = new KnownCertificates();
        // The bundle holds the root and the intermediate: the intermediate appears twice in the state.
        byte[] bundle = [.. ca.RootCertificate.RawData, .. ca.IntermediateCertificate!.RawData];

        using X509Context context = known.Remember(parser.ParseX509Context(Response(ca.CreateX509SvidMaterial(s_id), bundle), known.Certificates));

        Assert.Equal(2, known.Certificates.Count);
        Assert.DoesNotContain(known.Certificates, c => ReferenceEquals(c, context.DefaultSvid.Intermediates[0]));
    }
}

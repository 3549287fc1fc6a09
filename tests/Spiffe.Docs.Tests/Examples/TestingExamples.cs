using Grpc.Core;
using Spiffe.Jwt;
using Spiffe.Testing;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/testing.md: each example is a test that runs.</summary>
public sealed class TestingExamples
{
    [Fact]
    public async Task WorkloadApiServer_PushedSvid_SourceServesItAndRotates()
    {
        // <snippet:testing-workloadapiserver>
        var id = SpiffeId.Parse("spiffe://example.org/web");
        using var ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        await using var agent = await WorkloadApiServer.StartAsync();      // a real Workload API on a temporary Unix socket
        TestX509SvidMaterial first = ca.CreateX509SvidMaterial(id);
        agent.SetX509Svids([new WorkloadApiX509Svid(id.ToString(), first.ChainDer, first.PrivateKeyPkcs8, ca.RootCertificate.RawData)]);

        await using var source = await X509Source.CreateAsync(new X509SourceOptions
        {
            ClientOptions = new WorkloadApiClientOptions { Address = agent.Address },
        });
        Assert.Equal(id, source.GetX509Svid().Id);

        // Rotate: push a new SVID and wait for the source to apply it (no sleeps).
        Task<X509Context> updated = source.WaitForUpdateAsync();
        TestX509SvidMaterial second = ca.CreateX509SvidMaterial(id);
        agent.SetX509Svids([new WorkloadApiX509Svid(id.ToString(), second.ChainDer, second.PrivateKeyPkcs8, ca.RootCertificate.RawData)]);
        await updated.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(second.LoadCertificates()[0].SerialNumber, source.GetX509Svid().Certificate.SerialNumber);
        // </snippet>
    }

    [Fact]
    public async Task WorkloadApiServer_InjectedUnavailable_SourceRetriesAndStarts()
    {
        var id = SpiffeId.Parse("spiffe://example.org/web");
        using var ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        await using var agent = await WorkloadApiServer.StartAsync();
        TestX509SvidMaterial svid = ca.CreateX509SvidMaterial(id);
        agent.SetX509Svids([new WorkloadApiX509Svid(id.ToString(), svid.ChainDer, svid.PrivateKeyPkcs8, ca.RootCertificate.RawData)]);

        // <snippet:testing-faults>
        agent.InjectError(WorkloadApiMethod.FetchX509Svid, StatusCode.Unavailable, times: 2);   // the agent "restarts"
        await using var source = await X509Source.CreateAsync(new X509SourceOptions
        {
            ClientOptions = new WorkloadApiClientOptions
            {
                Address = agent.Address,
                Retry = new WorkloadApiRetryOptions { InitialBackoff = TimeSpan.FromMilliseconds(10) },
            },
        });
        RecordedCall third = await agent.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 3).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["true"], third.GetMetadataValues("workload.spiffe.io"));   // the security header
        // </snippet>
        Assert.Equal(id, source.GetX509Svid().Id);
    }

    [Fact]
    public async Task DevelopmentAgent_TwoIds_IssuesBothAndMintsJwtSvids()
    {
        // <snippet:testing-devagent>
        var options = new DevelopmentAgentOptions
        {
            TrustDomain = TrustDomain.Parse("example.org"),
            SvidTimeToLive = TimeSpan.FromMinutes(2),         // rotates at half-life, like SPIRE
        };
        options.Ids.Add(SpiffeId.Parse("spiffe://example.org/web"));
        options.Ids.Add(SpiffeId.Parse("spiffe://example.org/worker"));
        await using var agent = await DevelopmentAgent.StartAsync(options);

        var clientOptions = new WorkloadApiClientOptions { Address = agent.Address };
        await using var source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = clientOptions });
        await using var jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = clientOptions });
        JwtSvid token = await jwt.GetJwtSvidAsync(new JwtSvidRequest(["spiffe://example.org/api"]));

        Assert.Equal("spiffe://example.org/web", source.GetX509Svid().Id.ToString());   // the first ID is the default
        Assert.True(new JwtSvidValidator(jwt, ["spiffe://example.org/api"]).Validate(token.Token).IsValid);
        // </snippet>
    }

    [Fact]
    public void TestJwtAuthority_MintedToken_ValidatesAndTamperedOneDoesNot()
    {
        // <snippet:testing-jwt-authority>
        using var authority = new TestJwtAuthority(TrustDomain.Parse("example.org"));
        authority.AddKey("ES256");
        string token = authority.MintJwtSvid(SpiffeId.Parse("spiffe://example.org/web"), ["spiffe://example.org/api"]);
        var validator = new JwtSvidValidator(authority.CreateJwtBundle(), ["spiffe://example.org/api"]);

        Assert.True(validator.Validate(token).IsValid);
        Assert.Equal(JwtSvidErrorKind.InvalidSignature, validator.Validate(TestJwtAuthority.FlipSignatureBit(token)).ErrorKind);
        // </snippet>
    }

    [Fact]
    public void TestCertificateAuthority_BrokenSvids_AreRejectedWithTheirKind()
    {
        // <snippet:testing-ca>
        using var ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new TestCertificateAuthorityOptions { WithIntermediate = true });
        var id = SpiffeId.Parse("spiffe://example.org/web");
        var validator = new X509SvidValidator(ca.CreateX509Bundle());

        using X509Svid good = ca.CreateX509Svid(id);
        Assert.True(validator.Validate(good.Chain).IsValid);

        TestX509SvidMaterial expired = ca.CreateX509SvidMaterial(id, new TestX509SvidOptions { NotBefore = DateTimeOffset.UtcNow.AddHours(-2), NotAfter = DateTimeOffset.UtcNow.AddHours(-1) });
        Assert.Equal(X509SvidErrorKind.UntrustedChain, validator.Validate(expired.ChainDer).ErrorKind);

        TestX509SvidMaterial wrongKey = ca.CreateX509SvidMaterial(id, new TestX509SvidOptions { WrongPrivateKey = true });
        var error = Assert.Throws<X509SvidException>(() => wrongKey.ToX509Svid());
        Assert.Equal(X509SvidErrorKind.PrivateKey, error.ErrorKind);
        // </snippet>
    }
}

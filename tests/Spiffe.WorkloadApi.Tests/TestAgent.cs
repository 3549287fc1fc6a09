using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>
/// A real in-process Workload API (gRPC over a Unix socket) with a CA (root + intermediate) and a
/// JWT signing key for example.org, and a second trust domain for federation.
/// </summary>
internal sealed class TestAgent : IAsyncDisposable
{
    public static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    public static readonly TrustDomain Partner = TrustDomain.Parse("partner.org");
    public static readonly SpiffeId Web = SpiffeId.Parse("spiffe://example.org/web");
    public static readonly SpiffeId Db = SpiffeId.Parse("spiffe://example.org/db");

    private TestAgent(WorkloadApiServer server, TestCertificateAuthority ca, TestCertificateAuthority partnerCa, TestJwtAuthority jwt)
    {
        Server = server;
        Ca = ca;
        PartnerCa = partnerCa;
        Jwt = jwt;
    }

    public WorkloadApiServer Server { get; }

    public TestCertificateAuthority Ca { get; }

    public TestCertificateAuthority PartnerCa { get; }

    public TestJwtAuthority Jwt { get; }

    public byte[] BundleDer => Ca.RootCertificate.RawData;

    public byte[] PartnerBundleDer => PartnerCa.RootCertificate.RawData;

    public static async Task<TestAgent> StartAsync(bool tcp = false, TimeProvider? timeProvider = null)
    {
        var ca = TestCertificateAuthority.Create(Domain, new TestCertificateAuthorityOptions { WithIntermediate = true, TimeProvider = timeProvider });
        var partnerCa = TestCertificateAuthority.Create(Partner, new TestCertificateAuthorityOptions { TimeProvider = timeProvider });
        var jwt = new TestJwtAuthority(Domain, timeProvider);
        jwt.AddKey("ES256", "key-1");
        WorkloadApiServer server = await WorkloadApiServer.StartAsync(new WorkloadApiServerOptions { UseTcp = tcp, TimeProvider = timeProvider });
        return new TestAgent(server, ca, partnerCa, jwt);
    }

    /// <summary>A valid X509-SVID message for <paramref name="id"/>, leaf + intermediate, with the example.org bundle.</summary>
    public WorkloadApiX509Svid Svid(SpiffeId id, string? hint = null, TestX509SvidOptions? options = null)
    {
        TestX509SvidMaterial material = Ca.CreateX509SvidMaterial(id, options);
        return new WorkloadApiX509Svid(id.ToString(), material.ChainDer, material.PrivateKeyPkcs8, BundleDer, hint);
    }

    public void Serve(params WorkloadApiX509Svid[] svids) => Server.SetX509Svids(svids);

    public void ServeJwtBundles() =>
        Server.SetJwtBundles(new Dictionary<string, byte[]> { [Domain.Id.ToString()] = Jwt.CreateJwks() });

    public WorkloadApiClientOptions ClientOptions(TimeProvider? timeProvider = null)
    {
        var options = new WorkloadApiClientOptions
        {
            Address = Server.Address,
            Retry = new WorkloadApiRetryOptions { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400) },
        };
        if (timeProvider is not null)
        {
            options.TimeProvider = timeProvider;
        }

        return options;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Ca.Dispose();
        PartnerCa.Dispose();
        Jwt.Dispose();
    }

    /// <summary>A token that cancels waits after a generous bound, so a broken test fails instead of hanging.</summary>
    public static CancellationToken Timeout(int seconds = 20) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}

using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Conformance.Tests;

/// <summary>
/// The runner's side of a test: a real Workload API (gRPC over a Unix socket) serving the
/// harness's identity, trust domain example.org (root + intermediate) federated with partner.org,
/// and JWT-SVIDs signed by an example.org key. Also mints client and server SVIDs for the
/// test's own TLS peers, including ones from a CA the harness must not trust.
/// </summary>
internal sealed class ConformanceAgent : IAsyncDisposable
{
    public static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    public static readonly TrustDomain Partner = TrustDomain.Parse("partner.org");
    public static readonly TrustDomain Stranger = TrustDomain.Parse("stranger.org");
    public static readonly SpiffeId HarnessId = SpiffeId.Parse("spiffe://example.org/harness");

    private ConformanceAgent(WorkloadApiServer server)
    {
        Server = server;
        Ca = TestCertificateAuthority.Create(Domain, new TestCertificateAuthorityOptions { WithIntermediate = true });
        PartnerCa = TestCertificateAuthority.Create(Partner);
        ForeignCa = TestCertificateAuthority.Create(Domain); // same trust domain name, keys the harness never saw
        StrangerCa = TestCertificateAuthority.Create(Stranger);
        Jwt = new TestJwtAuthority(Domain);
        Jwt.AddKey("ES256", "key-1");
    }

    public WorkloadApiServer Server { get; }

    public TestCertificateAuthority Ca { get; }

    public TestCertificateAuthority PartnerCa { get; }

    public TestCertificateAuthority ForeignCa { get; }

    public TestCertificateAuthority StrangerCa { get; }

    public TestJwtAuthority Jwt { get; }

    /// <summary>What the runner puts in SPIFFE_ENDPOINT_SOCKET.</summary>
    public string Address => Server.Address;

    /// <summary>The bundles a test-side peer trusts: example.org only.</summary>
    public X509Bundle Bundle => Ca.CreateX509Bundle();

    /// <param name="tcp">Serve on <c>tcp://127.0.0.1:port</c> instead of a Unix socket.</param>
    public static async Task<ConformanceAgent> StartAsync(bool tcp = false)
    {
        WorkloadApiServer server = await WorkloadApiServer.StartAsync(new WorkloadApiServerOptions { UseTcp = tcp });
        var agent = new ConformanceAgent(server);
        agent.ServeHarnessSvid();
        server.SetX509Bundles(new Dictionary<string, byte[]>
        {
            [Domain.Id.ToString()] = agent.Ca.RootCertificate.RawData,
            [Partner.Id.ToString()] = agent.PartnerCa.RootCertificate.RawData,
        });
        server.SetJwtBundles(new Dictionary<string, byte[]> { [Domain.Id.ToString()] = agent.Jwt.CreateJwks() });
        server.SetJwtSvidMinter(request => [new WorkloadApiJwtSvid(HarnessId.ToString(), agent.Jwt.MintJwtSvid(HarnessId, request.Audiences), "internal")]);
        return agent;
    }

    /// <summary>Issues (or rotates) the harness's X509-SVID, with partner.org as a federated bundle; returns the new leaf serial.</summary>
    public string ServeHarnessSvid()
    {
        TestX509SvidMaterial material = Ca.CreateX509SvidMaterial(HarnessId);
        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(material.LeafDer.Span);
        Server.SetX509Svids(
            [new WorkloadApiX509Svid(HarnessId.ToString(), material.ChainDer, material.PrivateKeyPkcs8, Ca.RootCertificate.RawData)],
            new Dictionary<string, byte[]> { [Partner.Id.ToString()] = PartnerCa.RootCertificate.RawData });
        return leaf.SerialNumber;
    }

    public X509Svid ClientSvid(string path = "client") => Ca.CreateX509Svid(SpiffeId.FromPath(Domain, "/" + path));

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Ca.Dispose();
        PartnerCa.Dispose();
        ForeignCa.Dispose();
        StrangerCa.Dispose();
        Jwt.Dispose();
    }
}

using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// Who is trusted, end to end: real Kestrel (UseSpiffeMtls) on 127.0.0.1 and HttpClient on
/// SpiffeHttpHandler, over HTTP/1.1 and HTTP/2, with TLS resumption left at its default (allowed).
/// The SslStream-level counterparts are in Spiffe.Core.Tests/Tls/SpiffeTlsTests.cs.
/// </summary>
public sealed class KestrelMtlsTrustTests : IDisposable
{
    private static readonly TrustDomain s_local = TrustDomain.Parse("example.org");
    private static readonly TrustDomain s_partner = TrustDomain.Parse("partner.org");
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");
    private static readonly SpiffeId s_partnerClientId = SpiffeId.Parse("spiffe://partner.org/frontend");
    private static readonly SpiffeId s_partnerServerId = SpiffeId.Parse("spiffe://partner.org/api");

    private readonly DisposalScope _owned = new();
    private readonly TestCertificateAuthority _localCa;
    private readonly TestCertificateAuthority _partnerCa;

    public KestrelMtlsTrustTests()
    {
        // The local CA signs through an intermediate and bundles hold only roots, so every success
        // here also shows the intermediate was sent.
        _localCa = _owned.Add(TestCertificateAuthority.Create(s_local, new() { WithIntermediate = true }));
        _partnerCa = _owned.Add(TestCertificateAuthority.Create(s_partner));
    }

    public static TheoryData<string> HttpVersions => ["1.1", "2.0"];

    public void Dispose() => _owned.Dispose();

    [Theory]
    [MemberData(nameof(HttpVersions))]
    public async Task ServerDropsClientCa_PooledConnectionLivesOn_NewHandshakesRefused(string version)
    {
        // Two CAs in example.org: the client's (second) CA leaves the server's bundle.
        using var secondCa = TestCertificateAuthority.Create(s_local);
        var serverView = new MutableBundleSource(Bundle(s_local, _localCa, secondCa));
        var clientView = new MutableBundleSource(_owned.Add(_localCa.CreateX509Bundle()));
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(_localCa, s_serverId), serverView, SpiffeIdAuthorizer.Exact(s_clientId)));
        MutableSvidSource clientSvid = Svid(secondCa, s_clientId);
        using var handler = new SpiffeHttpHandler(clientSvid, clientView, SpiffeIdAuthorizer.Exact(s_serverId));
        using HttpClient pooled = new(handler, disposeHandler: false) { DefaultRequestVersion = Version.Parse(version), DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        // The chain policy depends only on the bundles, so both requests share one inner handler.
        Assert.Equal(s_clientId.ToString(), (await GetAsync(pooled, server)).CallerId);
        Assert.Equal(s_clientId.ToString(), (await GetAsync(pooled, server)).CallerId);
        int handlers = handler.HandlersCreated;

        serverView.Bundles = new X509BundleSet([_owned.Add(_localCa.CreateX509Bundle())]);

        // TLS authenticates at the handshake: the open connection is not re-checked (its life is
        // bounded by SpiffeHttpHandlerOptions.PooledConnectionLifetime) ...
        Assert.Equal(s_clientId.ToString(), (await GetAsync(pooled, server)).CallerId);
        Assert.Equal(handlers, handler.HandlersCreated);

        // ... but a new connection of that client is refused, even though the server agreed to
        // resume its TLS session: the client certificate is validated again on resumption.
        var observer = new TlsConnectionObserver();
        using HttpClient fresh = Client(clientSvid, clientView, SpiffeIdAuthorizer.Exact(s_serverId), version, observer);
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(fresh, server));
        ObservedConnection refused = observer.Connections[0];
        Assert.True(refused.Resumed, refused.ToString());
        await server.HandshakeFailures.WaitForFailureAsync();
        Assert.Equal(3, server.Requests);
    }

    [Theory]
    [MemberData(nameof(HttpVersions))]
    public async Task ClientDropsServerCa_NextRequestMakesNewHandshake_Refused(string version)
    {
        using var secondCa = TestCertificateAuthority.Create(s_local);
        var serverView = new MutableBundleSource(_owned.Add(_localCa.CreateX509Bundle()));
        var clientView = new MutableBundleSource(Bundle(s_local, _localCa, secondCa));
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(secondCa, s_serverId), serverView, SpiffeIdAuthorizer.Exact(s_clientId)));
        var observer = new TlsConnectionObserver();
        using HttpClient http = Client(Svid(_localCa, s_clientId), clientView, SpiffeIdAuthorizer.Exact(s_serverId), version, observer);
        Assert.Equal(s_clientId.ToString(), (await GetAsync(http, server)).CallerId);

        // SpiffeHttpHandler sees the new trust policy and stops using the pooled connection.
        clientView.Bundles = new X509BundleSet([_owned.Add(_localCa.CreateX509Bundle())]);

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(http, server));
        Assert.Contains("the server certificate failed chain validation", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Requests);

        // The refused connection had resumed the first one's TLS session: resumption skips no check.
        ObservedConnection[] connections = [.. observer.Connections];
        Assert.True(connections.Length >= 2, string.Join("; ", connections));
        Assert.True(connections[1].Resumed, connections[1].ToString());
    }

    [Theory]
    [MemberData(nameof(HttpVersions))]
    public async Task ServerAuthorizerRefusesClientId_RequestFailsInTheHandshake(string version)
    {
        var bundles = new MutableBundleSource(_owned.Add(_localCa.CreateX509Bundle()));
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/admin"))));
        using HttpClient http = Client(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId), version);

        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(http, server));

        // TLS 1.3: the client finished its handshake before the server checked its certificate, so
        // the client only sees the connection end (how exactly varies); the server's handshake failed.
        await server.HandshakeFailures.WaitForFailureAsync();
        Assert.Equal(0, server.Requests);
    }

    [Theory]
    [MemberData(nameof(HttpVersions))]
    public async Task ClientAuthorizerRefusesServerId_ExceptionNamesTheServerId(string version)
    {
        var bundles = new MutableBundleSource(_owned.Add(_localCa.CreateX509Bundle()));
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        using HttpClient http = Client(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/other-backend")), version);

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(http, server));

        Assert.Contains($"the server SPIFFE ID {s_serverId} is not authorized", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(HttpRequestError.SecureConnectionError, thrown.HttpRequestError);
        Assert.Equal(0, server.Requests);
    }

    [Theory]
    [MemberData(nameof(HttpVersions))]
    public async Task BothSvidsSignedByIntermediate_BundlesHoldOnlyTheRoot_BothSidesAccept(string version)
    {
        // Fresh sources and handlers: nothing learned from an earlier handshake can complete a
        // chain, so the intermediate must come from the peer, in both directions.
        X509Bundle rootOnly = _owned.Add(_localCa.CreateX509Bundle());
        X509Certificate2 root = Assert.Single(rootOnly.X509Authorities);
        Assert.Equal(_localCa.RootCertificate.RawData, root.RawData);
        Assert.NotNull(_localCa.IntermediateCertificate);
        var bundles = new MutableBundleSource(rootOnly);
        MutableSvidSource serverSvid = Svid(_localCa, s_serverId);
        MutableSvidSource clientSvid = Svid(_localCa, s_clientId);
        Assert.Equal(_localCa.IntermediateCertificate.RawData, Assert.Single(serverSvid.Svid!.Intermediates).RawData);
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(serverSvid, bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        var observer = new TlsConnectionObserver();
        using HttpClient http = Client(clientSvid, bundles, SpiffeIdAuthorizer.Exact(s_serverId), version, observer);

        PeerReport report = await GetAsync(http, server);

        Assert.Equal(s_clientId.ToString(), report.CallerId);
        Assert.Equal(clientSvid.Svid!.Certificate.GetSerialNumberString(), report.ClientSerial);
        Assert.Equal(serverSvid.Svid.Certificate.GetSerialNumberString(), Assert.Single(observer.ServerSerials));
        Assert.Equal(version == "2.0" ? "HTTP/2" : "HTTP/1.1", report.Protocol);
    }

    [Theory]
    [MemberData(nameof(HttpVersions))]
    public async Task FederatedPeersWithTheirBundles_AcceptedAsClientAndAsServer(string version)
    {
        var bundles = BothTrustDomains();
        await using KestrelTestServer localServer = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.MemberOf(s_partner)));
        await using KestrelTestServer partnerServer = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(_partnerCa, s_partnerServerId), bundles, SpiffeIdAuthorizer.MemberOf(s_local)));
        using HttpClient partnerClient = Client(Svid(_partnerCa, s_partnerClientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId), version);
        using HttpClient localClient = Client(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.MemberOf(s_partner), version);

        Assert.Equal(s_partnerClientId.ToString(), (await GetAsync(partnerClient, localServer)).CallerId);
        Assert.Equal(s_clientId.ToString(), (await GetAsync(localClient, partnerServer)).CallerId);
    }

    [Theory]
    [MemberData(nameof(HttpVersions))]
    public async Task PartnerClientIdSignedByLocalCa_RefusedByServerTrustingBothBundles(string version)
    {
        var bundles = BothTrustDomains();
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Any()));
        using HttpClient forged = Client(Svid(_localCa, s_partnerClientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId), version);
        using HttpClient genuine = Client(Svid(_partnerCa, s_partnerClientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId), version);

        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(forged, server));
        Assert.Equal(0, server.Requests);
        await server.HandshakeFailures.WaitForFailureAsync();
        Assert.Equal(s_partnerClientId.ToString(), (await GetAsync(genuine, server)).CallerId);
    }

    [Theory]
    [MemberData(nameof(HttpVersions))]
    public async Task LocalServerIdSignedByPartnerCa_RefusedByClientTrustingBothBundles(string version)
    {
        var bundles = BothTrustDomains();
        await using KestrelTestServer forgedServer = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(_partnerCa, s_serverId), bundles, SpiffeIdAuthorizer.Any()));
        using HttpClient http = Client(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Any(), version);

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(http, forgedServer));

        Assert.Contains($"the server SVID {s_serverId} does not chain to the bundle of {s_local}", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(0, forgedServer.Requests);
    }

    [Theory]
    [InlineData(true)]  // the server chains through the client's own intermediate
    [InlineData(false)] // another CA's intermediate: nothing is learned from it, the policy stays
    public async Task SecondRequest_AnyPeerIntermediate_ReusesHandlerAndConnection(bool sameIntermediate)
    {
        using var otherCa = TestCertificateAuthority.Create(s_local, new() { WithIntermediate = true });
        TestCertificateAuthority serverCa = sameIntermediate ? _localCa : otherCa;
        var bundles = new MutableBundleSource(Bundle(s_local, _localCa, otherCa));
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(Svid(serverCa, s_serverId), bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        var observer = new TlsConnectionObserver();
        using var handler = new SpiffeHttpHandler(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions { ConfigureHandler = observer.Configure });
        using HttpClient http = new(handler, disposeHandler: false) { DefaultRequestVersion = Version.Parse("2.0"), DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(s_clientId.ToString(), (await GetAsync(http, server)).CallerId);
        }

        Assert.Equal(1, handler.HandlersCreated);
        Assert.Single(observer.Connections);
    }

    private static async Task<PeerReport> GetAsync(HttpClient http, KestrelTestServer server)
    {
        using HttpResponseMessage response = await http.GetAsync(server.Peer);
        response.EnsureSuccessStatusCode();
        return PeerReport.Parse(await response.Content.ReadAsStringAsync());
    }

    private static HttpClient Client(MutableSvidSource svid, MutableBundleSource bundles, SpiffeIdAuthorizer authorizer, string version, TlsConnectionObserver? observer = null) =>
        new(new SpiffeHttpHandler(svid, bundles, authorizer, new SpiffeHttpHandlerOptions { ConfigureHandler = observer is null ? null : observer.Configure }))
        {
            DefaultRequestVersion = Version.Parse(version),
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };

    private X509Bundle Bundle(TrustDomain trustDomain, params TestCertificateAuthority[] authorities) =>
        _owned.Add(new X509Bundle(trustDomain, [.. authorities.Select(ca => X509CertificateLoader.LoadCertificate(ca.RootCertificate.RawData))]));

    // The bundles of example.org and partner.org, each under its own trust domain.
    private MutableBundleSource BothTrustDomains() => new(_owned.Add(_localCa.CreateX509Bundle()), _owned.Add(_partnerCa.CreateX509Bundle()));

    private MutableSvidSource Svid(TestCertificateAuthority ca, SpiffeId id) => new(_owned.Add(ca.CreateX509Svid(id)));
}

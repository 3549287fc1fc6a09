using System.Net;
using System.Security.Authentication;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// TLS session resumption between real Kestrel (UseSpiffeMtls) and HttpClient on SpiffeHttpHandler,
/// judged from the ServerHello on the wire (<see cref="ObservedConnection"/>).
/// </summary>
public sealed class KestrelMtlsResumptionTests : IDisposable
{
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");

    private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
    private readonly DisposalScope _owned = new();

    public void Dispose()
    {
        _owned.Dispose();
        _ca.Dispose();
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public async Task SecondConnection_ResumedOnlyWhenBothSidesAllowIt(bool serverAllowsResume, bool clientAllowsResume)
    {
        var bundles = new MutableBundleSource(_owned.Add(_ca.CreateX509Bundle()));
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(
            new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Exact(s_clientId), new SpiffeTlsOptions { AllowTlsResume = serverAllowsResume }));
        var observer = new TlsConnectionObserver();
        using var http = new HttpClient(new SpiffeHttpHandler(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_clientId))), bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions
        {
            Tls = new SpiffeTlsOptions { AllowTlsResume = clientAllowsResume },
            ConfigureHandler = observer.Configure,
        }));

        PeerReport first = await GetOnNewConnectionAsync(http, server);
        PeerReport second = await GetOnNewConnectionAsync(http, server);

        ObservedConnection[] connections = [.. observer.Connections];
        Assert.Equal(2, connections.Length);
        Assert.All(connections, c => Assert.True(c.IsTls13, c.ToString()));
        Assert.False(connections[0].Resumed, connections[0].ToString());
        Assert.Equal(serverAllowsResume && clientAllowsResume, connections[1].Resumed);
        if (!clientAllowsResume)
        {
            Assert.False(connections[1].ClientOfferedResumption, connections[1].ToString());
        }

        // Resumed or not, both connections authenticated the same two SVIDs.
        Assert.Equal(first with { Protocol = second.Protocol }, second);
        Assert.Equal(s_clientId.ToString(), second.CallerId);
    }

    [Fact]
    public async Task ResumptionAllowed_BothSvidsRotated_NextConnectionFullHandshakeWithNewSerials()
    {
        var bundles = new MutableBundleSource(_owned.Add(_ca.CreateX509Bundle()));
        var serverSvids = new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId)));
        var clientSvids = new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_clientId)));
        var resume = new SpiffeTlsOptions { AllowTlsResume = true };
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(serverSvids, bundles, SpiffeIdAuthorizer.Exact(s_clientId), resume));
        var observer = new TlsConnectionObserver();
        using var http = new HttpClient(new SpiffeHttpHandler(clientSvids, bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions { Tls = resume, ConfigureHandler = observer.Configure }));

        await GetOnNewConnectionAsync(http, server);
        PeerReport resumed = await GetOnNewConnectionAsync(http, server);
        serverSvids.Svid = _owned.Add(_ca.CreateX509Svid(s_serverId));
        clientSvids.Svid = _owned.Add(_ca.CreateX509Svid(s_clientId));
        PeerReport rotated = await GetOnNewConnectionAsync(http, server);

        ObservedConnection[] connections = [.. observer.Connections];
        Assert.Equal(3, connections.Length);
        Assert.True(connections[1].Resumed, "the control connection was expected to resume: " + connections[1]);
        Assert.False(connections[2].Resumed, connections[2].ToString());
        Assert.Equal(clientSvids.Svid.Certificate.GetSerialNumberString(), rotated.ClientSerial);
        Assert.Equal(serverSvids.Svid.Certificate.GetSerialNumberString(), rotated.ServerSerial);
        Assert.Equal(serverSvids.Svid.Certificate.GetSerialNumberString(), connections[2].ServerSerial);
        Assert.NotEqual(resumed.ClientSerial, rotated.ClientSerial);
        Assert.NotEqual(resumed.ServerSerial, rotated.ServerSerial);
    }

    [Fact]
    public async Task Tls12_ResumptionAllowed_SecondConnectionAbbreviatedAndStillAuthenticated()
    {
        var bundles = new MutableBundleSource(_owned.Add(_ca.CreateX509Bundle()));
        var tls12 = new SpiffeTlsOptions { AllowTlsResume = true, EnabledSslProtocols = SslProtocols.Tls12 };
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(
            new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Exact(s_clientId), tls12));
        var observer = new TlsConnectionObserver();
        using var http = new HttpClient(new SpiffeHttpHandler(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_clientId))), bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions { Tls = tls12, ConfigureHandler = observer.Configure }));

        PeerReport first = await GetOnNewConnectionAsync(http, server);
        PeerReport second = await GetOnNewConnectionAsync(http, server);

        ObservedConnection[] connections = [.. observer.Connections];
        Assert.Equal(2, connections.Length);
        Assert.All(connections, c => Assert.False(c.IsTls13, c.ToString()));
        Assert.True(connections[0].ServerSentCertificateInClear, "the first TLS 1.2 handshake is a full one");
        Assert.False(connections[1].ServerSentCertificateInClear, "the second TLS 1.2 handshake was expected to be abbreviated (resumed)");
        Assert.Equal(first with { Protocol = second.Protocol }, second);
        Assert.Equal(s_clientId.ToString(), second.CallerId);
    }

    [Fact]
    public async Task Tls12_ResumptionAllowed_BundleNoLongerTrustsThePeers_NextConnectionRefused()
    {
        var bundles = new MutableBundleSource(_owned.Add(_ca.CreateX509Bundle()));
        var tls12 = new SpiffeTlsOptions { AllowTlsResume = true, EnabledSslProtocols = SslProtocols.Tls12 };
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(
            new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Exact(s_clientId), tls12));
        using var http = new HttpClient(new SpiffeHttpHandler(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_clientId))), bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions { Tls = tls12 }));
        await GetOnNewConnectionAsync(http, server);

        // The trust domain's CA is replaced: a session resumed from the earlier handshake must not carry the old trust.
        using TestCertificateAuthority other = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        bundles.Bundles = new X509BundleSet([_owned.Add(other.CreateX509Bundle())]);

        await Assert.ThrowsAsync<HttpRequestException>(() => GetOnNewConnectionAsync(http, server));
        Assert.Equal(1, server.Requests);
    }

    // HTTP/1.1 with "Connection: close": the next request has to open (and handshake) a new connection.
    private static async Task<PeerReport> GetOnNewConnectionAsync(HttpClient http, KestrelTestServer server)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, server.Peer) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.ConnectionClose = true;
        using HttpResponseMessage response = await http.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        response.EnsureSuccessStatusCode();
        return PeerReport.Parse(await response.Content.ReadAsStringAsync());
    }
}

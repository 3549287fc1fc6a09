using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Tests;

/// <summary>Real Kestrel on 127.0.0.1 with UseSpiffeMtls/UseSpiffeTls, called by a real HttpClient.</summary>
public sealed partial class KestrelSpiffeTests : IAsyncLifetime
{
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");

    private readonly List<IDisposable> _owned = [];
    private readonly List<KestrelTestServer> _servers = [];
    private TestCertificateAuthority _ca = null!;
    private MutableBundleSource _bundles = null!;

    public Task InitializeAsync()
    {
        _ca = Own(TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true }));
        _bundles = new MutableBundleSource(Own(_ca.CreateX509Bundle()));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (KestrelTestServer server in _servers)
        {
            await server.DisposeAsync();
        }

        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task UseSpiffeMtls_AuthorizedClient_EndpointSeesCallerSpiffeId(string version)
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        using HttpClient http = Client(SpiffeTlsClient.MutualTls(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        using HttpResponseMessage response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/whoami"))
        {
            Version = Version.Parse(version),
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
        Assert.Equal(s_clientId.ToString(), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UseSpiffeMtls_OneSourceForSvidAndBundles_Serves()
    {
        var source = new CombinedSource(Svid(s_serverId), _bundles);
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Exact(s_clientId)));
        using HttpClient http = Client(SpiffeTlsClient.MutualTls(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        Assert.Equal(s_clientId.ToString(), await http.GetStringAsync(new Uri(address, "/whoami")));
    }

    [Fact]
    public void UseSpiffeMtls_NullAuthorizer_ThrowsAtConfiguration()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        var source = new CombinedSource(Svid(s_serverId), _bundles);
        ArgumentNullException? thrown = null;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            thrown = Assert.Throws<ArgumentNullException>(() => listen.UseSpiffeMtls(source, null!))));
        using WebApplication app = builder.Build();
        _ = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<KestrelServerOptions>>().Value;

        Assert.NotNull(thrown);
        Assert.Equal("authorizer", thrown.ParamName);
    }

    [Theory]
    [InlineData("/frontend-only", HttpStatusCode.OK)]
    [InlineData("/local-only", HttpStatusCode.OK)]
    [InlineData("/admin-only", HttpStatusCode.Forbidden)]
    [InlineData("/partner-only", HttpStatusCode.Forbidden)]
    public async Task RequireSpiffeIdAndTrustDomain_MtlsCaller_AllowedOrForbidden(string path, HttpStatusCode expected)
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Any()));
        using HttpClient http = Client(SpiffeTlsClient.MutualTls(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        using HttpResponseMessage response = await http.GetAsync(new Uri(address, path));

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task RequireSpiffeId_CallerWithoutSvid_Unauthorized()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeTls(Svid(s_serverId)));
        using HttpClient http = Client(SpiffeTlsClient.Tls(_bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        using HttpResponseMessage response = await http.GetAsync(new Uri(address, "/frontend-only"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task UseSpiffeMtls_ClientIdNotAuthorized_RequestFails()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/admin"))));
        using HttpClient http = Client(SpiffeTlsClient.MutualTls(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri(address, "/whoami")));
    }

    [Fact]
    public async Task UseSpiffeMtls_ServerSvidRotated_NewConnectionPresentsNewSerial()
    {
        MutableSvidSource serverSvids = Svid(s_serverId);
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(serverSvids, _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        var client = SpiffeTlsClient.MutualTls(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId));

        string first = await ServerSerialSeenAsync(client, address);
        serverSvids.Svid = Own(_ca.CreateX509Svid(s_serverId));
        string second = await ServerSerialSeenAsync(client, address);

        Assert.NotEqual(first, second);
        Assert.Equal(serverSvids.Svid.Certificate.GetSerialNumberString(), second);
    }

    [Fact]
    public async Task UseSpiffeMtls_BeforeFirstSvid_RequestFailsWithoutWaitingForTheHandshakeTimeout()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(new MutableSvidSource(), _bundles, SpiffeIdAuthorizer.Any()));
        using HttpClient http = Client(SpiffeTlsClient.MutualTls(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Any()));
        http.Timeout = TimeSpan.FromSeconds(30);
        var started = TimeProvider.System.GetTimestamp();

        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri(address, "/whoami")));

        // Kestrel's handshake timeout is 10 s; a clean failure is immediate.
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task UseSpiffeTls_ClientWithoutCertificate_ServedWithoutCallerId()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeTls(Svid(s_serverId)));
        using HttpClient http = Client(SpiffeTlsClient.Tls(_bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        string body = await http.GetStringAsync(new Uri(address, "/whoami"));

        Assert.Equal("anonymous", body);
    }

    // The review finding: behind UseCertificateForwarding, a certificate sent in a header became
    // HttpContext.Connection.ClientCertificate and was taken as a SPIFFE ID (HTTP 200).
    [Theory]
    [InlineData("/admin-only", HttpStatusCode.Unauthorized)]
    [InlineData("/whoami", HttpStatusCode.OK)]
    public async Task ForwardedClientCertificate_PlainHttp_IsNeverAnIdentity(string path, HttpStatusCode expected)
    {
        using TestCertificateAuthority attacker = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using X509Svid forged = attacker.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/admin"));
        Uri address = await StartAsync(_ => { }, forwardCertificates: true);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, path));
        request.Headers.Add("X-Client-Cert", Convert.ToBase64String(forged.Certificate.RawData));

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            // The forwarding middleware did set the certificate; it is just not an identity.
            Assert.Equal($"anonymous {forged.Certificate.GetSerialNumberString()}", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task ForwardedClientCertificate_OnMtlsConnection_CallerStaysTheVerifiedPeer()
    {
        using TestCertificateAuthority attacker = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using X509Svid forged = attacker.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/admin"));
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)), forwardCertificates: true);
        using HttpClient http = Client(SpiffeTlsClient.MutualTls(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        HttpResponseMessage Send(string path)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, path));
            request.Headers.Add("X-Client-Cert", Convert.ToBase64String(forged.Certificate.RawData));
            return http.Send(request);
        }

        using HttpResponseMessage admin = Send("/admin-only");
        using HttpResponseMessage whoami = Send("/whoami");

        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
        Assert.Equal($"{s_clientId} {forged.Certificate.GetSerialNumberString()}", await whoami.Content.ReadAsStringAsync());
    }

    private async Task<string> ServerSerialSeenAsync(SpiffeTlsClient client, Uri address)
    {
        string? serial = null;
        SslClientAuthenticationOptions options = client.GetOptions("localhost");
        RemoteCertificateValidationCallback verify = options.RemoteCertificateValidationCallback!;
        options.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            serial = certificate?.GetSerialNumberString();
            return verify(sender, certificate, chain, errors);
        };
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = options });
        Assert.Equal(s_clientId.ToString(), await http.GetStringAsync(new Uri(address, "/whoami")));
        return serial ?? throw new InvalidOperationException("The server certificate was not seen.");
    }

    private async Task<Uri> StartAsync(Action<ListenOptions> configure, bool forwardCertificates = false)
    {
        KestrelTestServer server = await KestrelTestServer.StartAsync(configure, app =>
        {
            if (forwardCertificates)
            {
                // X-Client-Cert, base64 DER: the middleware's defaults.
                app.UseCertificateForwarding();
                app.MapGet("/whoami", (HttpContext context) =>
                    $"{(context.TryGetSpiffeId(out SpiffeId? forwardedId) ? forwardedId.ToString() : "anonymous")} {context.Connection.ClientCertificate?.GetSerialNumberString() ?? "none"}");
            }
            else
            {
                app.MapGet("/whoami", (HttpContext context) => context.TryGetSpiffeId(out SpiffeId? id) ? id.ToString() : "anonymous");
            }

            app.MapGet("/serial", (HttpContext context) => context.Connection.ClientCertificate?.GetSerialNumberString() ?? "none");
            app.MapGet("/slow-serial", async (HttpContext context) =>
            {
                _slowRequestStarted.TrySetResult();
                await _slowRequestRelease.Task;
                return context.Connection.ClientCertificate?.GetSerialNumberString() ?? "none";
            });
            app.MapGet("/abort", (HttpContext context) => context.Abort());
            app.MapGet("/frontend-only", () => "ok").RequireSpiffeId(s_clientId);
            app.MapGet("/admin-only", () => "ok").RequireSpiffeId(SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/admin")));
            app.MapGet("/partner-only", () => "ok").RequireTrustDomain(TrustDomain.Parse("partner.org"));
            app.MapGet("/local-only", () => "ok").RequireTrustDomain(TrustDomain.Parse("example.org"));
        });
        _servers.Add(server);
        return server.Address;
    }

    private static HttpClient Client(SpiffeTlsClient client) =>
        new(new SocketsHttpHandler { SslOptions = client.GetOptions("localhost") }) { Timeout = TimeSpan.FromSeconds(20) };

    private sealed class CombinedSource(MutableSvidSource svids, MutableBundleSource bundles) : IX509SvidSource, IX509BundleSetSource
    {
        public X509Svid GetX509Svid() => svids.GetX509Svid();

        public X509BundleSet GetX509BundleSet() => bundles.GetX509BundleSet();

        public X509Bundle? GetX509Bundle(TrustDomain trustDomain) => bundles.GetX509Bundle(trustDomain);
    }

    private MutableSvidSource Svid(SpiffeId id) => new(Own(_ca.CreateX509Svid(id)));

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}

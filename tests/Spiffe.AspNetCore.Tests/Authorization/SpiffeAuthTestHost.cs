using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;

namespace Spiffe.AspNetCore.Tests.Authorization;

/// <summary>
/// Shared material for the authentication/authorization tests: a test CA (example.org, with an
/// intermediate) issuing X509-SVIDs, a JWT authority of example.org, and real Kestrel servers on
/// 127.0.0.1, either <c>UseSpiffeMtls</c> (any client ID passes the handshake, so the policies
/// decide) or plain HTTP. Logs are captured (FakeLogCollector).
/// </summary>
internal sealed class SpiffeAuthTestHost : IAsyncDisposable
{
    public static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    public static readonly SpiffeId ServerId = SpiffeId.Parse("spiffe://example.org/backend");
    public static readonly SpiffeId FrontendId = SpiffeId.Parse("spiffe://example.org/frontend");
    public static readonly SpiffeId AdminId = SpiffeId.Parse("spiffe://example.org/admin");
    public static readonly SpiffeId WorkloadId = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web");
    public static readonly SpiffeId GatewayId = SpiffeId.Parse("spiffe://example.org/gateway");
    public const string Audience = "spiffe://example.org/backend";

    private readonly List<IDisposable> _owned = [];
    private readonly List<WebApplication> _apps = [];

    public SpiffeAuthTestHost()
    {
        Ca = Own(TestCertificateAuthority.Create(Domain, new() { WithIntermediate = true }));
        X509Bundles = new MutableBundleSource(Own(Ca.CreateX509Bundle()));
        Jwt = Own(new TestJwtAuthority(Domain));
        Jwt.AddKey("ES256", "key-1");
        JwtBundles = new MutableJwtBundleSource(Jwt.CreateJwtBundle());
    }

    public TestCertificateAuthority Ca { get; }

    public MutableBundleSource X509Bundles { get; }

    public TestJwtAuthority Jwt { get; }

    public MutableJwtBundleSource JwtBundles { get; }

    public async Task<(WebApplication App, Uri Address)> StartAsync(Action<WebApplicationBuilder> configureServices, Action<WebApplication> mapEndpoints, bool mtls = true)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddFakeLogging();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        var serverSvid = new MutableSvidSource(Own(Ca.CreateX509Svid(ServerId)));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (mtls)
            {
                listen.UseSpiffeMtls(serverSvid, X509Bundles, SpiffeIdAuthorizer.Any());
            }
        }));
        configureServices(builder);
        WebApplication app = builder.Build();
        _apps.Add(app);
        mapEndpoints(app);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        return (app, address);
    }

    /// <summary>A client presenting an X509-SVID of <paramref name="id"/> (or none, server-authenticated TLS only).</summary>
    public HttpClient MtlsClient(SpiffeId? id)
    {
        SpiffeTlsClient tls = id is null
            ? SpiffeTlsClient.Tls(X509Bundles, SpiffeIdAuthorizer.Exact(ServerId))
            : SpiffeTlsClient.MutualTls(new MutableSvidSource(Own(Ca.CreateX509Svid(id))), X509Bundles, SpiffeIdAuthorizer.Exact(ServerId));
        return new HttpClient(new SocketsHttpHandler { SslOptions = tls.GetOptions("localhost") }) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public static HttpRequestMessage Get(Uri address, string path, string? bearer = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, path));
        if (bearer is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }

        return request;
    }

    public static IReadOnlyList<FakeLogRecord> Logs(WebApplication app, int eventId) =>
        [.. app.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == eventId)];

    public T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (WebApplication app in _apps)
        {
            await app.DisposeAsync();
        }

        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
    }
}

/// <summary>A JWT bundle source whose bundle a test can replace (as a Workload API update would).</summary>
internal sealed class MutableJwtBundleSource(JwtBundle bundle) : IJwtBundleSource
{
    private volatile JwtBundle? _bundle = bundle;

    public JwtBundle? Bundle
    {
        get => _bundle;
        set => _bundle = value;
    }

    public int Lookups => Volatile.Read(ref _lookups);

    private int _lookups;

    public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
    {
        Interlocked.Increment(ref _lookups);
        JwtBundle? current = _bundle;
        return current is not null && current.TrustDomain == trustDomain ? current : null;
    }
}

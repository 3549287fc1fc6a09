using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;
using Spiffe.BenchmarkShared;

namespace Spiffe.Benchmarks;

/// <summary>
/// Requests per second on warm (keep-alive) SPIFFE mTLS connections to a minimal endpoint, with the
/// SPIFFE mTLS scheme and a policy (<c>AddSpiffeX509()</c> + <c>AddSpiffeAuthorization()</c> + a
/// <c>RequireSpiffeId</c> policy, so the decision counter and result handler are on the path) versus
/// the same <c>UseSpiffeMtls</c> endpoint with no authentication or authorization at all (baseline).
/// One op = one GET of a 2-byte body; 100 per invocation over <see cref="Concurrency"/> callers.
/// Target (ASP.NET Core issue, point 3/4): ≥ 0.97x the baseline's requests per second.
/// </summary>
[MemoryDiagnoser]
public class SpiffeAuthorizationRequestsBenchmarks
{
    private const int RequestsPerInvocation = 100;
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");

    private TestCertificateAuthority _ca = null!;
    private X509Bundle _bundle = null!;
    private X509Svid _serverSvid = null!;
    private X509Svid _clientSvid = null!;
    private WebApplication _plain = null!;
    private WebApplication _authorized = null!;
    private WebApplication _floor = null!;
    private HttpClient _client = null!;
    private Uri _plainUri = null!;
    private Uri _authorizedUri = null!;
    private Uri _floorUri = null!;

    /// <summary>Parallel callers sharing the 100 requests of an invocation.</summary>
    [Params(1, 8)]
    public int Concurrency { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
        _bundle = _ca.CreateX509Bundle();
        _serverSvid = _ca.CreateX509Svid(s_serverId);
        _clientSvid = _ca.CreateX509Svid(s_clientId);
        _plain = StartServer(Server.Plain);
        _authorized = StartServer(Server.Spiffe);
        _floor = StartServer(Server.FrameworkFloor);
        _plainUri = Address(_plain);
        _authorizedUri = Address(_authorized);
        _floorUri = Address(_floor);
        _client = new HttpClient(new SpiffeHttpHandler(new FixedSvid(_clientSvid), _bundle, SpiffeIdAuthorizer.Exact(s_serverId)))
        {
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        NoAuthentication().GetAwaiter().GetResult();
        SpiffeX509AndPolicy().GetAwaiter().GetResult();
        FrameworkFloor().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _plain.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _authorized.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _floor.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serverSvid.Dispose();
        _clientSvid.Dispose();
        _bundle.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = RequestsPerInvocation, Description = "UseSpiffeMtls, no authentication")]
    public Task NoAuthentication() => RunAsync(_plainUri);

    [Benchmark(OperationsPerInvoke = RequestsPerInvocation, Description = "UseSpiffeMtls + AddSpiffeX509 + RequireSpiffeId policy")]
    public Task SpiffeX509AndPolicy() => RunAsync(_authorizedUri);

    /// <summary>
    /// What ASP.NET Core's authentication and authorization cost on their own: a scheme that returns one
    /// prebuilt principal (no SPIFFE code) and a <c>RequireAuthenticatedUser</c> policy. The SPIFFE row
    /// can only be as fast as this.
    /// </summary>
    [Benchmark(OperationsPerInvoke = RequestsPerInvocation, Description = "ASP.NET Core floor: fixed-principal scheme + RequireAuthenticatedUser")]
    public Task FrameworkFloor() => RunAsync(_floorUri);

    private async Task RunAsync(Uri uri)
    {
        var callers = new Task[Concurrency];
        for (int i = 0; i < callers.Length; i++)
        {
            int share = (RequestsPerInvocation / Concurrency) + (i < RequestsPerInvocation % Concurrency ? 1 : 0);
            callers[i] = CallerAsync(uri, share);
        }

        await Task.WhenAll(callers);
    }

    private async Task CallerAsync(Uri uri, int requests)
    {
        for (int i = 0; i < requests; i++)
        {
            using HttpResponseMessage response = await _client.GetAsync(uri);
            if (response.StatusCode != HttpStatusCode.OK || (await response.Content.ReadAsByteArrayAsync()).Length != 2)
            {
                throw new InvalidOperationException($"Unexpected response {response.StatusCode}.");
            }
        }
    }

    private enum Server
    {
        Plain,
        Spiffe,
        FrameworkFloor,
    }

    private WebApplication StartServer(Server kind)
    {
        bool withAuthorization = kind != Server.Plain;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.UseSpiffeMtls(new FixedSvid(_serverSvid), _bundle, SpiffeIdAuthorizer.Any())));
        if (kind == Server.FrameworkFloor)
        {
            builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, FixedPrincipalHandler>(FixedPrincipalHandler.SchemeName, null);
            builder.Services.AddAuthorization(o => o.AddPolicy("frontend", p => p.AddAuthenticationSchemes(FixedPrincipalHandler.SchemeName).RequireAuthenticatedUser()));
        }
        else if (withAuthorization)
        {
            builder.Services.AddAuthentication().AddSpiffeX509();
            builder.Services.AddSpiffeAuthorization();
            builder.Services.AddAuthorization(o => o.AddPolicy("frontend", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(s_clientId)));
        }

        WebApplication app = builder.Build();
        RouteHandlerBuilder endpoint = app.MapGet("/", () => "ok");
        if (withAuthorization)
        {
            endpoint.RequireAuthorization("frontend");
        }

        app.StartAsync().GetAwaiter().GetResult();
        return app;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
}

/// <summary>An SVID source that always returns one SVID.</summary>
file sealed class FixedSvid(X509Svid svid) : IX509SvidSource
{
    public X509Svid GetX509Svid() => svid;
}

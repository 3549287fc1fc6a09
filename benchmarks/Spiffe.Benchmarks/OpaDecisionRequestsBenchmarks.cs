using System.Net;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.AspNetCore.Opa;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Benchmarks;

/// <summary>
/// Requests per second on warm (keep-alive) SPIFFE mTLS connections: the same minimal endpoint with no
/// authorization (baseline), with <c>AddSpiffeX509</c> + <c>RequireOpaDecision()</c> answered from a warm
/// decision cache, and with the cache off so that every request costs one round trip to an in-process
/// stand-in for OPA (plain HTTP on loopback answering <c>{"decision_id": …, "result": true}</c>).
/// One op = one GET of a 2-byte body; 100 per invocation over <see cref="Concurrency"/> callers.
/// Target (issue 11): warm cache ≥ 0.97x the baseline's requests per second; the cold row shows the
/// cost of one PDP round trip.
/// </summary>
[MemoryDiagnoser]
public class OpaDecisionRequestsBenchmarks
{
    private const int RequestsPerInvocation = 100;
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");

    private TestCertificateAuthority _ca = null!;
    private X509Bundle _bundle = null!;
    private X509Svid _serverSvid = null!;
    private X509Svid _clientSvid = null!;
    private WebApplication _pdp = null!;
    private WebApplication _plain = null!;
    private WebApplication _warm = null!;
    private WebApplication _cold = null!;
    private HttpClient _client = null!;
    private Uri _plainUri = null!;
    private Uri _warmUri = null!;
    private Uri _coldUri = null!;

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
        _pdp = StartPdp();
        Uri pdpUri = Address(_pdp);
        _plain = StartServer(pdp: null, cacheTtl: TimeSpan.Zero);
        _warm = StartServer(pdpUri, cacheTtl: TimeSpan.FromHours(1));
        _cold = StartServer(pdpUri, cacheTtl: TimeSpan.Zero);
        _plainUri = Address(_plain);
        _warmUri = Address(_warm);
        _coldUri = Address(_cold);
        _client = new HttpClient(new SpiffeHttpHandler(new FixedSvid(_clientSvid), _bundle, SpiffeIdAuthorizer.Exact(s_serverId)))
        {
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        // Warm the connections and the decision cache.
        NoAuthorization().GetAwaiter().GetResult();
        OpaWarmCache().GetAwaiter().GetResult();
        OpaColdDecision().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        foreach (WebApplication app in new[] { _plain, _warm, _cold, _pdp })
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _serverSvid.Dispose();
        _clientSvid.Dispose();
        _bundle.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = RequestsPerInvocation, Description = "UseSpiffeMtls, no authorization")]
    public Task NoAuthorization() => RunAsync(_plainUri);

    [Benchmark(OperationsPerInvoke = RequestsPerInvocation, Description = "AddSpiffeX509 + RequireOpaDecision, warm decision cache")]
    public Task OpaWarmCache() => RunAsync(_warmUri);

    [Benchmark(OperationsPerInvoke = RequestsPerInvocation, Description = "AddSpiffeX509 + RequireOpaDecision, cache off (one PDP round trip)")]
    public Task OpaColdDecision() => RunAsync(_coldUri);

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

    private static WebApplication StartPdp()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        app.MapPost("/v1/data/{**path}", async (HttpContext context) =>
        {
            // Read the input as OPA would before answering.
            using var body = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"decision_id\":\"3f1c2b9e-0000-4000-8000-000000000000\",\"result\":true}");
        });
        app.StartAsync().GetAwaiter().GetResult();
        return app;
    }

    private WebApplication StartServer(Uri? pdp, TimeSpan cacheTtl)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.UseSpiffeMtls(new FixedSvid(_serverSvid), _bundle, SpiffeIdAuthorizer.Any())));
        if (pdp is not null)
        {
            builder.Services.AddAuthentication().AddSpiffeX509();
            builder.Services.AddOpaAuthorization(o =>
            {
                o.Endpoint = pdp;
                o.CacheTtl = cacheTtl;
                o.Timeout = TimeSpan.FromSeconds(10);
            });
            builder.Services.AddAuthorization(o => o.AddPolicy("opa", p => p.AddSpiffeAuthenticationSchemes().RequireOpaDecision()));
        }

        WebApplication app = builder.Build();
        RouteHandlerBuilder endpoint = app.MapGet("/", () => "ok");
        if (pdp is not null)
        {
            endpoint.RequireAuthorization("opa");
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

using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Text.Encodings.Web;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.AspNetCore;
using Spiffe.BenchmarkShared;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Benchmarks;

/// <summary>
/// The server's CPU per request on the ASP.NET Core side only (no socket, no TLS, no HTTP parsing):
/// a request context made by the host's <see cref="IHttpContextFactory"/>, run through the app's
/// real middleware pipeline (routing, authentication, authorization, the endpoint) and disposed, as
/// Kestrel's hosting layer does per request. Rows differ only in what authenticates and authorizes;
/// the baseline has neither. It shows where the per-request time of the kept-alive benchmarks goes.
/// </summary>
[MemoryDiagnoser]
public class AuthorizationPipelineBenchmarks
{
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");

    private TestCertificateAuthority _ca = null!;
    private X509Svid _clientSvid = null!;
    private ISpiffePeerFeature _peer = null!;
    private readonly List<WebApplication> _apps = [];
    private Pipeline _plain = null!;
    private Pipeline _floor = null!;
    private Pipeline _spiffe = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        _clientSvid = _ca.CreateX509Svid(s_clientId);
        _peer = new PeerFeature(s_clientId, _clientSvid.Certificate);
        _plain = Build(services => { }, _ => { });
        _floor = Build(
            services =>
            {
                services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, FixedPrincipalHandler>(FixedPrincipalHandler.SchemeName, null);
                services.AddAuthorization(o => o.AddPolicy("p", p => p.AddAuthenticationSchemes(FixedPrincipalHandler.SchemeName).RequireAuthenticatedUser()));
            },
            endpoint => endpoint.RequireAuthorization("p"));
        _spiffe = Build(
            services =>
            {
                services.AddAuthentication().AddSpiffeX509();
                services.AddSpiffeAuthorization();
                services.AddAuthorization(o => o.AddPolicy("p", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(s_clientId)));
            },
            endpoint => endpoint.RequireAuthorization("p"));
        foreach (Pipeline pipeline in new[] { _plain, _floor, _spiffe })
        {
            int status = pipeline.RunAsync(_peer).GetAwaiter().GetResult();
            if (status != 200)
            {
                throw new InvalidOperationException($"The pipeline answered {status}.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (WebApplication app in _apps)
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _clientSvid.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true, Description = "no authentication")]
    public Task<int> NoAuthentication() => _plain.RunAsync(_peer);

    [Benchmark(Description = "ASP.NET Core floor: fixed principal + RequireAuthenticatedUser")]
    public Task<int> FrameworkFloor() => _floor.RunAsync(_peer);

    [Benchmark(Description = "AddSpiffeX509 + RequireSpiffeId policy")]
    public Task<int> SpiffeX509AndPolicy() => _spiffe.RunAsync(_peer);

    private Pipeline Build(Action<IServiceCollection> services, Action<RouteHandlerBuilder> endpoint)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        services(builder.Services);
        WebApplication app = builder.Build();
        _apps.Add(app);
        app.UseRouting();
        if (app.Services.GetService<IAuthenticationSchemeProvider>() is not null)
        {
            // What WebApplication adds by itself when the services are registered.
            app.UseAuthentication();
            app.UseAuthorization();
        }

        endpoint(app.MapGet("/", () => "ok"));
        app.UseEndpoints(_ => { });
        RequestDelegate next = ((IApplicationBuilder)app).Build();
        return new Pipeline(app.Services.GetRequiredService<IHttpContextFactory>(), next);
    }

    private sealed class Pipeline(IHttpContextFactory factory, RequestDelegate next)
    {
        public async Task<int> RunAsync(ISpiffePeerFeature peer)
        {
            var features = new FeatureCollection();
            features.Set<IHttpRequestFeature>(new HttpRequestFeature { Method = "GET", Path = "/", Protocol = "HTTP/1.1", Scheme = "https" });
            features.Set<IHttpResponseFeature>(new HttpResponseFeature());
            features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
            features.Set(peer);
            HttpContext context = factory.Create(features);
            try
            {
                await next(context);
                return context.Response.StatusCode;
            }
            finally
            {
                factory.Dispose(context);
            }
        }
    }
}

file sealed class PeerFeature(SpiffeId id, X509Certificate2 certificate) : ISpiffePeerFeature
{
    public SpiffeId SpiffeId { get; } = id;

    public X509Certificate2 Certificate { get; } = certificate;
}

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// An app built the way the README shows <c>AddSpiffe()</c>: configuration in the <c>Spiffe</c>
/// section, a real Kestrel on 127.0.0.1 whose endpoint the test configures (e.g. <c>listen.UseSpiffeMtls()</c>),
/// a real Workload API test server issuing the backend's SVID, and clients presenting SVIDs minted by
/// the same CA (frontend, intruder). <c>/whoami</c> answers the caller's SPIFFE ID.
/// </summary>
internal sealed class SpiffeTestHost : IAsyncDisposable
{
    public static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    public static readonly SpiffeId Backend = SpiffeId.Parse("spiffe://example.org/backend");
    public static readonly SpiffeId Frontend = SpiffeId.Parse("spiffe://example.org/frontend");
    public static readonly SpiffeId Intruder = SpiffeId.Parse("spiffe://example.org/intruder");

    private SpiffeTestHost(TestCertificateAuthority ca, WorkloadApiServer agent)
    {
        Ca = ca;
        Agent = agent;
    }

    public TestCertificateAuthority Ca { get; }

    public WorkloadApiServer Agent { get; }

    public WebApplication? App { get; private set; }

    public Uri Address { get; private set; } = null!;

    /// <param name="serve">Whether the agent has the backend's SVID from the start (false: it denies until <see cref="Serve"/>).</param>
    public static async Task<SpiffeTestHost> CreateAsync(bool serve = true)
    {
        var ca = TestCertificateAuthority.Create(Domain, new TestCertificateAuthorityOptions { WithIntermediate = true });
        WorkloadApiServer agent = await WorkloadApiServer.StartAsync();
        var host = new SpiffeTestHost(ca, agent);
        if (serve)
        {
            host.Serve();
        }

        return host;
    }

    /// <summary>Issues a fresh backend SVID (and the bundle) through the agent.</summary>
    public void Serve(TestX509SvidOptions? options = null)
    {
        TestX509SvidMaterial material = Ca.CreateX509SvidMaterial(Backend, options);
        Agent.SetX509Svids([new WorkloadApiX509Svid(Backend.ToString(), material.ChainDer, material.PrivateKeyPkcs8, Ca.RootCertificate.RawData)]);
    }

    /// <summary>The <c>Spiffe</c> section pointing at this agent, with quick retries; <paramref name="more"/> adds or overrides keys.</summary>
    public Dictionary<string, string?> Configuration(params (string Key, string? Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Spiffe:WorkloadApi:Address"] = Agent.Address,
            ["Spiffe:WorkloadApi:Retry:InitialBackoff"] = "00:00:00.050",
            ["Spiffe:WorkloadApi:Retry:MaxBackoff"] = "00:00:00.200",
            ["Spiffe:StartTimeout"] = "00:00:20",
        };
        foreach ((string key, string? value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Builds the app: <c>AddSpiffe()</c>, fake logging, <paramref name="listen"/> on a loopback endpoint (none when null).</summary>
    public WebApplication Build(Dictionary<string, string?> configuration, Action<ListenOptions>? listen, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFakeLogging();
        builder.Services.AddSpiffe();
        if (listen is not null)
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen));
        }
        else
        {
            // Plain HTTP on a free port (never the default 5000: tests run in parallel); endpoints
            // declared under Kestrel:Endpoints replace it.
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }

        configure?.Invoke(builder);
        WebApplication app = builder.Build();
        app.MapGet("/whoami", (HttpContext context) => context.TryGetSpiffeId(out SpiffeId? id) ? id.ToString() : "anonymous");
        App = app;
        return app;
    }

    /// <summary>Starts the app built by <see cref="Build"/> and records its address.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await App!.StartAsync(cancellationToken);
        Address = new Uri(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>A client presenting an SVID for <paramref name="id"/> from this CA, accepting only the backend.</summary>
    public HttpClient Client(SpiffeId id, DisposalScope scope)
    {
        X509Svid svid = scope.Add(Ca.CreateX509Svid(id));
        var bundles = new MutableBundleSource(scope.Add(Ca.CreateX509Bundle()));
        return new HttpClient(new SpiffeHttpHandler(new MutableSvidSource(svid), bundles, SpiffeIdAuthorizer.Exact(Backend)));
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        await Agent.DisposeAsync();
        Ca.Dispose();
    }

    /// <summary>A token that cancels waits after a generous bound, so a broken test fails instead of hanging.</summary>
    public static CancellationToken Timeout(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}

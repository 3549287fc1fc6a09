using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// <c>AddSpiffe()</c> end to end: options from configuration, the sources started before Kestrel with the
/// root cause on failure, <c>listen.UseSpiffeMtls()</c> from DI (deny by default), endpoints declared in
/// configuration, and disposal at shutdown — real Kestrel, real TLS, the Workload API test server.
/// </summary>
public sealed class SpiffeHostingTests
{
    [Fact]
    public async Task UseSpiffeMtls_AllowedIdsFromConfiguration_AdmitsListedIdRefusesOthers()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        host.Build(host.Configuration(("Spiffe:Authorization:AllowedIds:0", SpiffeTestHost.Frontend.ToString())), listen => listen.UseSpiffeMtls());
        await host.StartAsync(SpiffeTestHost.Timeout());
        using var scope = new DisposalScope();

        using HttpClient frontend = host.Client(SpiffeTestHost.Frontend, scope);
        Assert.Equal(SpiffeTestHost.Frontend.ToString(), await frontend.GetStringAsync(new Uri(host.Address, "/whoami")));

        using HttpClient intruder = host.Client(SpiffeTestHost.Intruder, scope);
        await Assert.ThrowsAsync<HttpRequestException>(() => intruder.GetStringAsync(new Uri(host.Address, "/whoami")));

        // The endpoint is named as what it serves: https, not Kestrel's pre-TLS http:// text.
        string configured = Assert.Single(host.App!.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 1005).Message;
        Assert.StartsWith("Kestrel endpoint https://", configured, StringComparison.Ordinal);
        Assert.Contains("SPIFFE mutual TLS", configured, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseSpiffeMtls_AllowedTrustDomainsFromConfiguration_AdmitsMembersOnly()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        host.Build(host.Configuration(("Spiffe:Authorization:AllowedTrustDomains:0", "example.org")), listen => listen.UseSpiffeMtls());
        await host.StartAsync(SpiffeTestHost.Timeout());
        using var scope = new DisposalScope();

        using HttpClient intruder = host.Client(SpiffeTestHost.Intruder, scope);
        Assert.Equal(SpiffeTestHost.Intruder.ToString(), await intruder.GetStringAsync(new Uri(host.Address, "/whoami")));

        // The negative: the same configuration's authorizer refuses a member of another trust domain.
        var options = new SpiffeAuthorizationOptions();
        options.AllowedTrustDomains.Add("example.org");
        SpiffeIdAuthorizer authorizer = Hosting.SpiffeOptionsValidator.CreateAuthorizer(options)!;
        Assert.True(authorizer.IsAuthorized(SpiffeTestHost.Frontend));
        Assert.False(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://example.org.evil/frontend")));
        Assert.False(authorizer.IsAuthorized(SpiffeId.Parse("spiffe://partner.org/frontend")));
    }

    [Fact]
    public async Task UseSpiffeMtls_NoAuthorizationConfigured_AppFailsSayingWhatToConfigure()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();

        // Kestrel applies its endpoint configuration when the app is built, so that is where it fails.
        InvalidOperationException thrown = Assert.Throws<InvalidOperationException>(() => host.Build(host.Configuration(), listen => listen.UseSpiffeMtls()));

        Assert.Contains("admits nobody", thrown.Message);
        Assert.Contains("Spiffe:Authorization", thrown.Message);
        Assert.Contains("AllowedIds", thrown.Message);
        Assert.Contains("AllowedTrustDomains", thrown.Message);
    }

    [Fact]
    public async Task UseSpiffeMtls_ExplicitAuthorizer_OverridesConfiguration()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        host.Build(host.Configuration(("Spiffe:Authorization:AllowedIds:0", SpiffeTestHost.Intruder.ToString())), listen => listen.UseSpiffeMtls(SpiffeIdAuthorizer.Exact(SpiffeTestHost.Frontend)));
        await host.StartAsync(SpiffeTestHost.Timeout());
        using var scope = new DisposalScope();

        using HttpClient frontend = host.Client(SpiffeTestHost.Frontend, scope);
        Assert.Equal(SpiffeTestHost.Frontend.ToString(), await frontend.GetStringAsync(new Uri(host.Address, "/whoami")));
        using HttpClient intruder = host.Client(SpiffeTestHost.Intruder, scope);
        await Assert.ThrowsAsync<HttpRequestException>(() => intruder.GetStringAsync(new Uri(host.Address, "/whoami")));
    }

    [Fact]
    public async Task UseSpiffeTls_FromDi_ServerAuthenticatedAndNoClientCertificateAsked()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        host.Build(host.Configuration(), listen => listen.UseSpiffeTls());
        await host.StartAsync(SpiffeTestHost.Timeout());
        using var scope = new DisposalScope();
        var bundles = new Core.Tests.Tls.MutableBundleSource(scope.Add(host.Ca.CreateX509Bundle()));

        // A client that trusts the backend's SVID and presents nothing: admitted, anonymous.
        using var http = new HttpClient(new Tls.SpiffeHttpHandler(new Core.Tests.Tls.MutableSvidSource(scope.Add(host.Ca.CreateX509Svid(SpiffeTestHost.Frontend))), bundles, SpiffeIdAuthorizer.Exact(SpiffeTestHost.Backend)));
        Assert.Equal("anonymous", await http.GetStringAsync(new Uri(host.Address, "/whoami")));

        // A client that expects another server ID refuses this one.
        using var wrong = new HttpClient(new Tls.SpiffeHttpHandler(new Core.Tests.Tls.MutableSvidSource(scope.Add(host.Ca.CreateX509Svid(SpiffeTestHost.Frontend))), bundles, SpiffeIdAuthorizer.Exact(SpiffeTestHost.Intruder)));
        await Assert.ThrowsAsync<HttpRequestException>(() => wrong.GetStringAsync(new Uri(host.Address, "/whoami")));
    }

    [Fact]
    public async Task UseSpiffeMtls_KestrelEndpointFromConfiguration_BecomesSpiffeEndpoint()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        Dictionary<string, string?> settings = host.Configuration(
            ("Spiffe:Authorization:AllowedIds:0", SpiffeTestHost.Frontend.ToString()),
            ("Kestrel:Endpoints:Mtls:Url", "https://127.0.0.1:0"));

        // The README's form: endpoints declared under Kestrel:Endpoints, made SPIFFE endpoints by name.
        host.Build(settings, listen: null, builder => builder.WebHost
            .UseKestrelHttpsConfiguration() // only CreateSlimBuilder needs it: https:// URLs in configuration
            .ConfigureKestrel((context, kestrel) =>
                kestrel.Configure(context.Configuration.GetSection("Kestrel")).Endpoint("Mtls", endpoint => endpoint.ListenOptions.UseSpiffeMtls())));
        await host.StartAsync(SpiffeTestHost.Timeout());
        using var scope = new DisposalScope();

        Assert.Equal("https", host.Address.Scheme);
        using HttpClient frontend = host.Client(SpiffeTestHost.Frontend, scope);
        Assert.Equal(SpiffeTestHost.Frontend.ToString(), await frontend.GetStringAsync(new Uri(host.Address, "/whoami")));
        using HttpClient intruder = host.Client(SpiffeTestHost.Intruder, scope);
        await Assert.ThrowsAsync<HttpRequestException>(() => intruder.GetStringAsync(new Uri(host.Address, "/whoami")));
    }

    [Fact]
    public async Task StartAsync_NoAgent_FailsWithRootCauseWithinTimeout()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        string missing = "unix://" + Path.Combine(Path.GetTempPath(), "spiffe-no-agent-" + Guid.NewGuid().ToString("N"), "agent.sock");
        WebApplication app = host.Build(
            host.Configuration(("Spiffe:WorkloadApi:Address", missing), ("Spiffe:StartTimeout", "00:00:01"), ("Spiffe:Authorization:AllowedTrustDomains:0", "example.org")),
            listen => listen.UseSpiffeMtls());
        var clock = Stopwatch.StartNew();

        WorkloadApiException thrown = await Assert.ThrowsAsync<WorkloadApiException>(() => host.StartAsync(SpiffeTestHost.Timeout()));

        // Bounded by the 1 s start timeout, with slack for a loaded machine; never the 30 s test bound.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Equal(WorkloadApiErrorKind.Unavailable, thrown.Kind);
        Assert.Contains("within 1 s", thrown.Message);
        Assert.Contains("the socket does not exist", thrown.Message);
        Assert.Contains(app.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 1002 && r.Level == LogLevel.Critical && r.Message.Contains("socket does not exist"));
    }

    [Fact]
    public async Task StartAsync_AgentAnswersLate_WaitsForTheSvidThenServes()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync(serve: false);
        host.Build(host.Configuration(("Spiffe:Authorization:AllowedIds:0", SpiffeTestHost.Frontend.ToString())), listen => listen.UseSpiffeMtls());

        Task starting = host.StartAsync(SpiffeTestHost.Timeout());
        await host.Agent.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 2, SpiffeTestHost.Timeout());
        Assert.False(starting.IsCompleted, "the host started before the agent issued an SVID");

        host.Serve();
        await starting;
        using var scope = new DisposalScope();
        using HttpClient frontend = host.Client(SpiffeTestHost.Frontend, scope);
        Assert.Equal(SpiffeTestHost.Frontend.ToString(), await frontend.GetStringAsync(new Uri(host.Address, "/whoami")));
        Assert.Contains(host.App!.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 1001 && r.Message.Contains(SpiffeTestHost.Backend.ToString()));
    }

    [Fact]
    public async Task StartAsync_AllowDegradedStart_StartsAndHandshakesFailUntilSvidArrives()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync(serve: false);
        WebApplication app = host.Build(
            host.Configuration(("Spiffe:StartTimeout", "00:00:00.300"), ("Spiffe:AllowDegradedStart", "true"), ("Spiffe:Authorization:AllowedIds:0", SpiffeTestHost.Frontend.ToString())),
            listen => listen.UseSpiffeMtls());

        await host.StartAsync(SpiffeTestHost.Timeout());
        Assert.Contains(app.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 1003 && r.Level == LogLevel.Warning);
        using var scope = new DisposalScope();
        using HttpClient frontend = host.Client(SpiffeTestHost.Frontend, scope);
        await Assert.ThrowsAsync<HttpRequestException>(() => frontend.GetStringAsync(new Uri(host.Address, "/whoami")));

        X509Source source = app.Services.GetRequiredService<X509Source>();
        Task<X509Context> update = source.WaitForUpdateAsync(SpiffeTestHost.Timeout());
        host.Serve();
        await update;
        using HttpClient again = host.Client(SpiffeTestHost.Frontend, scope);
        Assert.Equal(SpiffeTestHost.Frontend.ToString(), await again.GetStringAsync(new Uri(host.Address, "/whoami")));
    }

    [Fact]
    public async Task AddSpiffe_Resolution_SameSourceUnderEveryInterfaceAndDisposedAtShutdown()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        WebApplication app = host.Build(host.Configuration(), listen: null);
        await host.StartAsync(SpiffeTestHost.Timeout());

        X509Source source = app.Services.GetRequiredService<X509Source>();
        Assert.Same(source, app.Services.GetRequiredService<IX509SvidSource>());
        Assert.Same(source, app.Services.GetRequiredService<IX509BundleSetSource>());
        Assert.Same(source, app.Services.GetRequiredService<IX509BundleSource>());
        Assert.Equal(host.Agent.Address, app.Services.GetRequiredService<WorkloadApiClient>().Address.ToString());
        Assert.Equal(SpiffeTestHost.Backend, source.GetX509Svid().Id);

        // Not enabled: resolving says which key to set, rather than starting an unawaited source.
        InvalidOperationException jwt = Assert.Throws<InvalidOperationException>(() => app.Services.GetRequiredService<JwtSource>());
        Assert.Contains("Spiffe:Sources:Jwt", jwt.Message);
        InvalidOperationException bundles = Assert.Throws<InvalidOperationException>(() => app.Services.GetRequiredService<IJwtBundleSource>());
        Assert.Contains("Spiffe:Sources:Jwt", bundles.Message);

        await app.StopAsync(SpiffeTestHost.Timeout());
        await app.DisposeAsync();
        WorkloadApiException disposed = Assert.Throws<WorkloadApiException>(source.GetX509Svid);
        Assert.Contains("disposed", disposed.Message);
    }

    [Fact]
    public async Task AddSpiffe_JwtEnabledWithPrefetch_WaitsForBundlesAndFetchesEachAudience()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        using var jwtAuthority = new TestJwtAuthority(SpiffeTestHost.Domain);
        jwtAuthority.AddKey("ES256", "key-1");
        host.Agent.SetJwtBundles(new Dictionary<string, byte[]> { [SpiffeTestHost.Domain.Id.ToString()] = jwtAuthority.CreateJwks() });
        host.Agent.SetJwtSvidMinter(request => [new WorkloadApiJwtSvid(SpiffeTestHost.Backend.ToString(), jwtAuthority.MintJwtSvid(SpiffeTestHost.Backend, request.Audiences))]);
        WebApplication app = host.Build(
            host.Configuration(("Spiffe:Sources:Jwt", "true"), ("Spiffe:Jwt:PrefetchAudiences:0", "spiffe://example.org/db"), ("Spiffe:Jwt:PrefetchAudiences:1", "spiffe://example.org/cache")),
            listen: null);

        await host.StartAsync(SpiffeTestHost.Timeout());

        JwtSource jwt = app.Services.GetRequiredService<JwtSource>();
        Assert.Same(jwt, app.Services.GetRequiredService<IJwtBundleSource>());
        Assert.NotNull(jwt.GetJwtBundle(SpiffeTestHost.Domain));
        string[] fetched = [.. host.Agent.Calls.Where(c => c.Method == WorkloadApiMethod.FetchJwtSvid).SelectMany(c => c.Audiences)];
        Assert.Equal(["spiffe://example.org/cache", "spiffe://example.org/db"], fetched.Order(StringComparer.Ordinal));

        // From the cache: no further call to the agent.
        await jwt.GetJwtSvidAsync(new Spiffe.Jwt.JwtSvidRequest(["spiffe://example.org/db"]), SpiffeTestHost.Timeout());
        Assert.Equal(2, host.Agent.Calls.Count(c => c.Method == WorkloadApiMethod.FetchJwtSvid));
    }

    [Theory]
    [InlineData("Spiffe:Authorization:AllowedIds:0", "spiffe://Example.org/x", "Spiffe:Authorization:AllowedIds:0: 'spiffe://Example.org/x' is not a SPIFFE ID")]
    [InlineData("Spiffe:Authorization:AllowedIds:0", "example.org/frontend", "Use spiffe://<trust-domain>/<path>")]
    [InlineData("Spiffe:Authorization:AllowedTrustDomains:0", "Example.org", "Spiffe:Authorization:AllowedTrustDomains:0: 'Example.org' is not a trust domain")]
    [InlineData("Spiffe:WorkloadApi:Address", "http://agent:8081", "Spiffe:WorkloadApi:Address: 'http://agent:8081' is not a Workload API address")]
    [InlineData("Spiffe:StartTimeout", "00:00:00", "Spiffe:StartTimeout is 00:00:00: it must be more than 0")]
    [InlineData("Spiffe:WorkloadApi:Retry:Multiplier", "0.5", "Spiffe:WorkloadApi:Retry:Multiplier is 0.5: it must be at least 1")]
    [InlineData("Spiffe:WorkloadApi:Retry:Jitter", "1", "Spiffe:WorkloadApi:Retry:Jitter is 1")]
    [InlineData("Spiffe:Jwt:PrefetchAudiences:0", "backend", "Spiffe:Jwt:PrefetchAudiences is set but Spiffe:Sources:Jwt is false")]
    [InlineData("Spiffe:Sources:X509", "false", "Spiffe:Sources: X509, Jwt and Bundles are all false")]
    public async Task StartAsync_InvalidConfiguration_FailsNamingTheKeyAndWhatIsAllowed(string key, string value, string expected)
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        host.Build(host.Configuration((key, value)), listen: null);

        OptionsValidationException thrown = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(SpiffeTestHost.Timeout()));

        Assert.Contains(expected, thrown.Message);
        Assert.Empty(host.Agent.Calls);
    }

    [Fact]
    public async Task StartAsync_ValidConfiguration_PassesValidation()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        WebApplication app = host.Build(
            host.Configuration(
                ("Spiffe:Authorization:AllowedIds:0", "spiffe://example.org/frontend"),
                ("Spiffe:Authorization:AllowedTrustDomains:0", "spiffe://partner.org"),
                ("Spiffe:WorkloadApi:Retry:Jitter", "0"),
                ("Spiffe:StartTimeout", "1.00:00:00")),
            listen: null);

        await host.StartAsync(SpiffeTestHost.Timeout());

        SpiffeOptions options = app.Services.GetRequiredService<IOptions<SpiffeOptions>>().Value;
        Assert.Equal(["spiffe://example.org/frontend"], options.Authorization.AllowedIds);
        Assert.Equal(TimeSpan.FromDays(1), options.StartTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.WorkloadApi.Retry.InitialBackoff);
    }

    [Fact]
    public void AddSpiffe_Package_BringsWorkloadApiButNoGrpcServer()
    {
        AssemblyNameReferences references = new(typeof(SpiffeOptions).Assembly);

        Assert.Contains("Spiffe.WorkloadApi", references.Names);
        Assert.DoesNotContain(references.Names, n => n.StartsWith("Grpc.AspNetCore", StringComparison.Ordinal));
    }

    private sealed class AssemblyNameReferences(System.Reflection.Assembly assembly)
    {
        public string[] Names { get; } = [.. assembly.GetReferencedAssemblies().Select(static a => a.Name!)];
    }
}

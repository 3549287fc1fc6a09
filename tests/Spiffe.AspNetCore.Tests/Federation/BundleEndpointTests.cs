using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Federation;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Tests.Federation;

/// <summary>
/// The federation client (FederatedBundleSource) against our bundle endpoint (MapSpiffeBundleEndpoint)
/// on a real Kestrel, with both profiles, a hand-written document, a key rotation, and faults.
/// </summary>
public sealed class BundleEndpointTests : IAsyncLifetime
{
    private static readonly TrustDomain s_partner = TrustDomain.Parse("partner.org");
    private static readonly SpiffeId s_endpointId = SpiffeId.Parse("spiffe://partner.org/bundle-server");
    private readonly WebPki _web = new();
    private readonly TestCertificateAuthority _ca1 = TestCertificateAuthority.Create(s_partner);
    private readonly TestCertificateAuthority _ca2 = TestCertificateAuthority.Create(s_partner);
    private readonly TestJwtAuthority _jwt = new(s_partner);
    private readonly MutableSvidSource _serverSvid = new();
    private readonly MutableBundleSource _served = new();
    private readonly MutableJwtBundleSource _servedJwt = new();
    private readonly RecordingLogs _log = new();
    private readonly List<IAsyncDisposable> _disposables = [];
    private Func<HttpContext, Task> _scripted = c => c.Response.WriteAsync("not set");
    private int _bundleRequests;
    private KestrelTestServer _spiffeServer = null!;
    private KestrelTestServer _webServer = null!;

    public async Task InitializeAsync()
    {
        _jwt.AddKey("ES256", "jwt-1");
        _servedJwt.Bundle = _jwt.CreateJwtBundle();
        _served.Bundles = new X509BundleSet([_ca1.CreateX509Bundle()]);
        _serverSvid.Svid = _ca1.CreateX509Svid(s_endpointId);
        _spiffeServer = await KestrelTestServer.StartAsync(l => l.UseSpiffeTls(_serverSvid), MapEndpoints);
        _webServer = await KestrelTestServer.StartAsync(l => l.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = _web.Server }), MapEndpoints);
    }

    public async Task DisposeAsync()
    {
        foreach (IAsyncDisposable disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await _spiffeServer.DisposeAsync();
        await _webServer.DisposeAsync();
        _web.Dispose();
        _ca1.Dispose();
        _ca2.Dispose();
        _jwt.Dispose();
    }

    private void MapEndpoints(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.Path == "/bundle")
            {
                Interlocked.Increment(ref _bundleRequests);
            }

            await next(context);
        });
        app.MapSpiffeBundleEndpoint("/bundle", new SpiffeBundleEndpointOptions { TrustDomain = s_partner, X509Bundles = _served, JwtBundles = _servedJwt, RefreshHint = TimeSpan.FromSeconds(120) });
        app.MapGet("/scripted", context => _scripted(context));
    }

    private static Uri Url(KestrelTestServer server, string path, string host = "localhost") => new UriBuilder(server.Address) { Host = host, Path = path }.Uri;

    private FederationRelationship SpiffeRelationship(SpiffeBundle bootstrap, SpiffeId? endpointId = null) => new()
    {
        TrustDomain = s_partner,
        EndpointUrl = Url(_spiffeServer, "/bundle"),
        Profile = BundleEndpointProfile.HttpsSpiffe,
        EndpointSpiffeId = endpointId ?? s_endpointId,
        BootstrapBundle = bootstrap,
    };

    private FederationRelationship WebRelationship(string path = "/bundle", X509Certificate2? root = null, string host = "localhost") => new()
    {
        TrustDomain = s_partner,
        EndpointUrl = Url(_webServer, path, host),
        Profile = BundleEndpointProfile.HttpsWeb,
        WebTrustRoots = [root ?? _web.Root],
    };

    private FederatedBundleSource Source(FederationRelationship relationship, TimeProvider? time = null, TimeSpan? min = null, TimeSpan? max = null, TimeSpan? fallback = null)
    {
        var options = new FederatedBundleSourceOptions
        {
            TimeProvider = time ?? new FakeTimeProvider(DateTimeOffset.UtcNow),
            LoggerFactory = _log,
            MinRefreshInterval = min ?? TimeSpan.FromSeconds(1),
            MaxRefreshInterval = max ?? TimeSpan.FromHours(1),
            DefaultRefreshInterval = fallback ?? TimeSpan.FromMinutes(5),
        };
        options.Relationships.Add(relationship);
        var source = new FederatedBundleSource(options);
        _disposables.Add(source);
        return source;
    }

    private SpiffeBundle Bootstrap(params TestCertificateAuthority[] authorities)
    {
        var bundle = new SpiffeBundle(s_partner, [.. authorities.Select(a => X509CertificateLoader.LoadCertificate(a.RootCertificate.RawData))], []);
        _disposables.Add(new AsyncDisposable(bundle));
        return bundle;
    }

    [Fact]
    public async Task HttpsSpiffe_OurClientAgainstOurServer_FetchesX509AndJwtAuthorities()
    {
        FederatedBundleSource source = Source(SpiffeRelationship(Bootstrap(_ca1)));

        await source.RefreshAsync();

        SpiffeBundle bundle = source.GetSpiffeBundle(s_partner)!;
        Assert.NotNull(bundle.Sequence);
        Assert.Equal(TimeSpan.FromSeconds(120), bundle.RefreshHint);
        Assert.True(source.GetX509Bundle(s_partner)!.Contains(_ca1.RootCertificate));
        Assert.True(source.GetJwtBundle(s_partner)!.TryGetJwtAuthority("jwt-1", out _));
        Assert.Same(source.GetX509BundleSet(), source.GetX509BundleSet());
        Assert.Null(source.GetX509Bundle(TrustDomain.Parse("example.org")));
    }

    [Fact]
    public async Task HttpsSpiffe_KeyRotation_EachFetchedBundleAuthenticatesTheNextFetch()
    {
        FederatedBundleSource source = Source(SpiffeRelationship(Bootstrap(_ca1)));
        FederatedBundleSource pinned = Source(SpiffeRelationship(Bootstrap(_ca1)));
        await source.RefreshAsync();

        // 1. The server publishes CA2 next to CA1 before using it.
        _served.Bundles = new X509BundleSet([new X509Bundle(s_partner, [Copy(_ca1.RootCertificate), Copy(_ca2.RootCertificate)])]);
        Assert.True(await source.RefreshAsync());
        Assert.True(source.GetX509Bundle(s_partner)!.Contains(_ca2.RootCertificate));

        // 2. It switches its own SVID to CA2 and drops CA1.
        _serverSvid.Svid = _ca2.CreateX509Svid(s_endpointId);
        _served.Bundles = new X509BundleSet([_ca2.CreateX509Bundle()]);
        Assert.True(await source.RefreshAsync());

        X509Bundle rotated = source.GetX509Bundle(s_partner)!;
        Assert.True(rotated.Contains(_ca2.RootCertificate));
        Assert.False(rotated.Contains(_ca1.RootCertificate));

        // A client that only ever knew the bootstrap bundle cannot authenticate the rotated server.
        Assert.False(await pinned.RefreshAsync());
        Assert.False(pinned.GetX509Bundle(s_partner)!.Contains(_ca2.RootCertificate));
        Assert.Contains(_log.Entries, e => e.EventId == 221 && e.Message.Contains("request failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HttpsSpiffe_ServerWithAnotherSpiffeId_Refused()
    {
        SpiffeBundle bootstrap = Bootstrap(_ca1);
        FederatedBundleSource source = Source(SpiffeRelationship(bootstrap, SpiffeId.Parse("spiffe://partner.org/someone-else")));

        Assert.False(await source.RefreshAsync());

        Assert.Same(bootstrap, source.GetSpiffeBundle(s_partner));
        Assert.Contains(_log.Entries, e => e.EventId == 221);
    }

    [Fact]
    public async Task HttpsSpiffe_ServerSvidFromUnknownCa_Refused()
    {
        using TestCertificateAuthority stranger = TestCertificateAuthority.Create(s_partner);
        _serverSvid.Svid = stranger.CreateX509Svid(s_endpointId);
        SpiffeBundle bootstrap = Bootstrap(_ca1);
        FederatedBundleSource source = Source(SpiffeRelationship(bootstrap));

        Assert.False(await source.RefreshAsync());

        Assert.Same(bootstrap, source.GetSpiffeBundle(s_partner));
    }

    [Fact]
    public async Task HttpsWeb_ServerCertificateFromTrustedRoot_Fetches()
    {
        FederatedBundleSource source = Source(WebRelationship());

        await source.RefreshAsync();

        Assert.True(source.GetX509Bundle(s_partner)!.Contains(_ca1.RootCertificate));
    }

    [Fact]
    public async Task HttpsWeb_UntrustedRoot_RefusedAndNoBundle()
    {
        using var otherPki = new WebPki();
        FederatedBundleSource source = Source(WebRelationship(root: otherPki.Root));

        Assert.False(await source.RefreshAsync());

        Assert.Null(source.GetSpiffeBundle(s_partner));
        Assert.Empty(source.GetX509BundleSet());
    }

    [Fact]
    public async Task HttpsWeb_HostNotInCertificate_Refused()
    {
        // The certificate names localhost and 127.0.0.1; this host name resolves but is not in it.
        string host = Dns.GetHostName();
        FederatedBundleSource source = Source(WebRelationship(host: host));

        Assert.False(await source.RefreshAsync());

        Assert.Null(source.GetSpiffeBundle(s_partner));
    }

    [Fact]
    public async Task HttpsWeb_FailuresOlderSequenceAndGarbage_KeepLastGood()
    {
        // The source's first fetch starts in the background at creation; RefreshAsync fetches again after it.
        Script(200, Document(_ca1, sequence: 10));
        FederatedBundleSource source = Source(WebRelationship("/scripted"));
        await source.RefreshAsync();
        SpiffeBundle good = source.GetSpiffeBundle(s_partner)!;

        Script(500, "boom");
        Assert.False(await source.RefreshAsync());
        Script(200, "{\"keys\": [ this is not json");
        Assert.False(await source.RefreshAsync());
        Script(200, "{\"no_keys\": []}");
        Assert.False(await source.RefreshAsync());
        Script(200, Document(_ca2, sequence: 9));
        Assert.False(await source.RefreshAsync());
        Script(200, Document(_ca2, sequence: 10));
        Assert.False(await source.RefreshAsync());

        Assert.Same(good, source.GetSpiffeBundle(s_partner));
        Assert.Contains(_log.Entries, e => e.EventId == 221 && e.Message.Contains("HTTP 500", StringComparison.Ordinal));
        Assert.Contains(_log.Entries, e => e.EventId == 221 && e.Message.Contains("not a SPIFFE bundle", StringComparison.Ordinal));
        Assert.Contains(_log.Entries, e => e.EventId == 221 && e.Message.Contains("older than the 10", StringComparison.Ordinal));

        Script(200, Document(_ca2, sequence: 11));
        Assert.True(await source.RefreshAsync());
        Assert.True(source.GetX509Bundle(s_partner)!.Contains(_ca2.RootCertificate));
        Assert.Equal(11, source.GetSpiffeBundle(s_partner)!.Sequence);
    }

    [Fact]
    public async Task HttpsWeb_HandWrittenSpecShapedDocument_ParsedPerSpec()
    {
        // Written by hand in the shape of the Trust Domain and Bundle spec's example: an x509-svid
        // key (x5c, no kid), a jwt-svid EC key with kid, the sequence and refresh hint, plus what a
        // consumer must ignore: an unknown top-level member, an unknown use, an unknown kty.
        string x5c = Convert.ToBase64String(_ca1.RootCertificate.RawData);
        JsonElement jwk = JsonDocument.Parse(_jwt.CreateJwks()).RootElement.GetProperty("keys")[0];
        string document = $$"""
            {
              "keys": [
                { "use": "x509-svid", "kty": "EC", "crv": "P-256", "x": "{{jwk.GetProperty("x").GetString()}}", "y": "{{jwk.GetProperty("y").GetString()}}", "x5c": ["{{x5c}}"] },
                { "use": "jwt-svid", "kty": "EC", "kid": "KID-hand", "crv": "P-256", "x": "{{jwk.GetProperty("x").GetString()}}", "y": "{{jwk.GetProperty("y").GetString()}}" },
                { "use": "sig", "kty": "EC", "kid": "ignored-use", "crv": "P-256", "x": "{{jwk.GetProperty("x").GetString()}}", "y": "{{jwk.GetProperty("y").GetString()}}" },
                { "use": "jwt-svid", "kty": "OKP-unknown", "kid": "ignored-kty" }
              ],
              "spiffe_refresh_hint": 2,
              "spiffe_sequence": 1,
              "spiffe_other_member": true
            }
            """;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        Script(200, document);
        FederatedBundleSource source = Source(WebRelationship("/scripted"), time, min: TimeSpan.FromSeconds(10));

        await source.RefreshAsync();

        SpiffeBundle bundle = source.GetSpiffeBundle(s_partner)!;
        Assert.Equal(1, bundle.Sequence);
        Assert.Equal(TimeSpan.FromSeconds(2), bundle.RefreshHint);
        Assert.True(bundle.GetX509Bundle(s_partner)!.Contains(_ca1.RootCertificate));
        Assert.Equal("KID-hand", Assert.Single(bundle.JwtAuthorities).KeyId);

        // The 2 s hint is raised to the 10 s floor.
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(10), source.NextFetchAt(s_partner));
    }

    [Fact]
    public async Task Schedule_RefreshHintWithinFloorAndCeiling_NextFetchOnTheTimer()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        Script(200, Document(_ca1, sequence: 1, refreshHint: 3600));
        FederatedBundleSource source = Source(WebRelationship("/scripted"), time, min: TimeSpan.FromSeconds(10), max: TimeSpan.FromSeconds(60), fallback: TimeSpan.FromSeconds(30));

        await source.RefreshAsync();
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(60), source.NextFetchAt(s_partner));

        Script(200, Document(_ca1, sequence: 2, refreshHint: null));
        await source.RefreshAsync();
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(30), source.NextFetchAt(s_partner));

        Script(200, Document(_ca1, sequence: 3, refreshHint: 20));
        await source.RefreshAsync();
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(20), source.NextFetchAt(s_partner));

        // The timer fetches by itself when the interval has passed.
        Script(200, Document(_ca2, sequence: 4, refreshHint: 20));
        Task updated = source.WaitForUpdateAsync();
        time.Advance(TimeSpan.FromSeconds(19));
        Assert.False(updated.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await updated.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(4, source.GetSpiffeBundle(s_partner)!.Sequence);

        // A failed fetch retries at the next interval, not sooner.
        Script(500, "down");
        DateTimeOffset before = time.GetUtcNow();
        Assert.False(await source.RefreshAsync());
        Assert.Equal(before + TimeSpan.FromSeconds(20), source.NextFetchAt(s_partner));
    }

    [Fact]
    public async Task Endpoint_ServesSpiffeBundleWithCachingHeadersAndStableSequence()
    {
        using var http = WebClient();
        Uri url = Url(_webServer, "/bundle");

        using HttpResponseMessage first = await http.GetAsync(url);
        string body = await first.Content.ReadAsStringAsync();
        using HttpResponseMessage again = await http.GetAsync(url);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("application/json", first.Content.Headers.ContentType!.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(60), first.Headers.CacheControl!.MaxAge);
        Assert.NotNull(first.Content.Headers.LastModified);
        Assert.Equal(first.Headers.ETag, again.Headers.ETag);
        using JsonDocument json = JsonDocument.Parse(body);
        JsonElement root = json.RootElement;
        Assert.Equal(120, root.GetProperty("spiffe_refresh_hint").GetInt64());
        long sequence = root.GetProperty("spiffe_sequence").GetInt64();
        JsonElement[] keys = [.. root.GetProperty("keys").EnumerateArray()];
        JsonElement x509 = Assert.Single(keys, k => k.GetProperty("use").GetString() == "x509-svid");
        Assert.False(x509.TryGetProperty("kid", out _));
        Assert.Equal(Convert.ToBase64String(_ca1.RootCertificate.RawData), Assert.Single(x509.GetProperty("x5c").EnumerateArray()).GetString());
        Assert.Equal("jwt-1", Assert.Single(keys, k => k.GetProperty("use").GetString() == "jwt-svid").GetProperty("kid").GetString());

        // A conditional GET with the ETag is answered 304.
        using var conditional = new HttpRequestMessage(HttpMethod.Get, url);
        conditional.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using HttpResponseMessage notModified = await http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        // Same content from a new bundle instance: same sequence. New content: a larger one.
        _served.Bundles = new X509BundleSet([_ca1.CreateX509Bundle()]);
        Assert.Equal(sequence, await SequenceAsync(http, url));
        _served.Bundles = new X509BundleSet([_ca2.CreateX509Bundle()]);
        Assert.True(await SequenceAsync(http, url) > sequence);
    }

    [Fact]
    public async Task Endpoint_DenyByDefaultApp_StillServesTheBundleAnonymously()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication().AddSpiffeX509();
        builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        await using WebApplication app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapSpiffeBundleEndpoint("/bundle", s_partner, _served, _servedJwt);
        app.MapGet("/other", () => "secret");
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage bundle = await http.GetAsync(new Uri(address, "/bundle"));
        using HttpResponseMessage other = await http.GetAsync(new Uri(address, "/other"));

        Assert.Equal(HttpStatusCode.OK, bundle.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode); // the fallback policy is in force
    }

    [Fact]
    public async Task Endpoint_NoBundleYet_Answers503()
    {
        _served.Bundles = new X509BundleSet([]);
        _servedJwt.Bundle = null;
        using var http = WebClient();

        using HttpResponseMessage response = await http.GetAsync(Url(_webServer, "/bundle"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task Endpoint_NoClientCertificateRequired_OverHttpsSpiffe()
    {
        // The https_spiffe server presents its SVID and asks nothing of the client (§5.2.2.3).
        FederatedBundleSource source = Source(SpiffeRelationship(Bootstrap(_ca1)));

        await source.RefreshAsync();

        Assert.Single(source.GetSpiffeBundle(s_partner)!.JwtAuthorities);
        Assert.True(Volatile.Read(ref _bundleRequests) >= 1);
    }

    [Theory]
    [InlineData("http://partner.org/bundle", "https")]
    [InlineData("https://user:pw@partner.org/bundle", "user information")]
    public void Options_EndpointUrlBreakingSpec_Rejected(string url, string expected)
    {
        var options = new FederatedBundleSourceOptions();
        options.Relationships.Add(new FederationRelationship { TrustDomain = s_partner, EndpointUrl = new Uri(url), Profile = BundleEndpointProfile.HttpsWeb });

        ArgumentException e = Assert.Throws<ArgumentException>(() => new FederatedBundleSource(options));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Options_MissingProfileTrustDomainOrEndpointId_Rejected()
    {
        var noProfile = new FederatedBundleSourceOptions();
        noProfile.Relationships.Add(new FederationRelationship { TrustDomain = s_partner, EndpointUrl = new Uri("https://partner.org/b") });
        var noTrustDomain = new FederatedBundleSourceOptions();
        noTrustDomain.Relationships.Add(new FederationRelationship { EndpointUrl = new Uri("https://partner.org/b"), Profile = BundleEndpointProfile.HttpsWeb });
        var noEndpointId = new FederatedBundleSourceOptions();
        noEndpointId.Relationships.Add(new FederationRelationship { TrustDomain = s_partner, EndpointUrl = new Uri("https://partner.org/b"), Profile = BundleEndpointProfile.HttpsSpiffe, BootstrapBundle = Bootstrap(_ca1) });
        var valid = new FederatedBundleSourceOptions();
        valid.Relationships.Add(new FederationRelationship { TrustDomain = s_partner, EndpointUrl = new Uri("https://partner.org:8443/b?x=1"), Profile = BundleEndpointProfile.HttpsWeb });

        Assert.Contains("Profile", Assert.Throws<ArgumentException>(() => new FederatedBundleSource(noProfile)).Message);
        Assert.Contains("TrustDomain", Assert.Throws<ArgumentException>(() => new FederatedBundleSource(noTrustDomain)).Message);
        Assert.Contains("EndpointSpiffeId", Assert.Throws<ArgumentException>(() => new FederatedBundleSource(noEndpointId)).Message);
        valid.TimeProvider = new FakeTimeProvider();
        _disposables.Add(new FederatedBundleSource(valid));
    }

    [Fact]
    public async Task Combined_WorkloadBundleFirstThenFederated_EachTrustDomainItsOwn()
    {
        FederatedBundleSource federated = Source(WebRelationship());
        await federated.RefreshAsync();
        using TestCertificateAuthority local = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using X509Bundle localBundle = local.CreateX509Bundle();
        var own = new MutableBundleSource(localBundle);

        var combined = new CombinedX509BundleSource(own, federated);
        X509BundleSet set = combined.GetX509BundleSet();

        Assert.Equal(2, set.Count);
        Assert.Same(localBundle, combined.GetX509Bundle(local.TrustDomain));
        Assert.True(combined.GetX509Bundle(s_partner)!.Contains(_ca1.RootCertificate));
        Assert.Same(set, combined.GetX509BundleSet());

        // A federated leaf of partner.org validates with partner.org's fetched bundle only.
        using X509Svid partnerSvid = _ca1.CreateX509Svid(SpiffeId.Parse("spiffe://partner.org/api"));
        using X509Svid forged = local.CreateX509Svid(SpiffeId.Parse("spiffe://partner.org/api"));
        var validator = new X509SvidValidator(combined);
        Assert.True(validator.Validate(partnerSvid.Chain).IsValid);
        Assert.False(validator.Validate(forged.Chain).IsValid);

        var jwt = new CombinedJwtBundleSource(_servedJwt, federated);
        Assert.Same(_servedJwt.Bundle, jwt.GetJwtBundle(s_partner));
    }

    private void Script(int status, string body) => _scripted = async context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body);
    };

    private string Document(TestCertificateAuthority authority, long sequence, long? refreshHint = 120)
    {
        using var bundle = new SpiffeBundle(s_partner, [Copy(authority.RootCertificate)], _jwt.CreateJwtBundle().JwtAuthorities, sequence, refreshHint is { } hint ? TimeSpan.FromSeconds(hint) : null);
        return bundle.ToJson();
    }

    private static X509Certificate2 Copy(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawData);

    private HttpClient WebClient()
    {
        var handler = new SocketsHttpHandler();
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(_web.Root);
        handler.SslOptions.CertificateChainPolicy = policy;
        return new HttpClient(handler);
    }

    private static async Task<long> SequenceAsync(HttpClient http, Uri url)
    {
        using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync(url));
        return json.RootElement.GetProperty("spiffe_sequence").GetInt64();
    }

    private sealed class MutableJwtBundleSource : IJwtBundleSource
    {
        public JwtBundle? Bundle { get; set; }

        public JwtBundle? GetJwtBundle(TrustDomain trustDomain) => Bundle?.GetJwtBundle(trustDomain);
    }

    private sealed class AsyncDisposable(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

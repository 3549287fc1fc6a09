using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Testing;
using static Spiffe.AspNetCore.Tests.Authorization.SpiffeAuthTestHost;

namespace Spiffe.AspNetCore.Tests.Authorization;

/// <summary>The SPIFFE schemes on real Kestrel: mTLS (real TLS, test CA) and bearer JWT-SVIDs (test JWT authority).</summary>
public sealed class SpiffeAuthenticationTests : IAsyncLifetime
{
    private const string GenericInvalidToken = "Bearer error=\"invalid_token\", error_description=\"The bearer token is not a valid JWT-SVID for this service.\"";
    private readonly SpiffeAuthTestHost _host = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task AddSpiffeX509_MtlsCaller_PrincipalHasSpiffeClaims()
    {
        (_, Uri address) = await StartBothAsync();
        using HttpClient http = _host.MtlsClient(WorkloadId);

        string body = await http.GetStringAsync(new Uri(address, "/claims"));

        Dictionary<string, string> claims = ParseClaims(body);
        Assert.Equal(SpiffeAuthenticationDefaults.X509AuthenticationType, claims["authType"]);
        Assert.Equal(WorkloadId.ToString(), claims["name"]);
        Assert.Equal(WorkloadId.ToString(), claims[ClaimTypes.NameIdentifier]);
        Assert.Equal(WorkloadId.ToString(), claims[SpiffeClaimTypes.SpiffeId]);
        Assert.Equal("example.org", claims[SpiffeClaimTypes.TrustDomain]);
        Assert.Equal("/ns/prod/sa/web", claims[SpiffeClaimTypes.Path]);
        Assert.Matches("^[0-9A-F]+$", claims[SpiffeClaimTypes.X509SerialNumber]);
        Assert.True(DateTimeOffset.Parse(claims[SpiffeClaimTypes.X509NotAfter], System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task AddSpiffeX509_OnValidatedFails_Unauthorized()
    {
        (_, Uri address) = await StartBothAsync(x509: o => o.Events.OnValidated = context =>
        {
            context.Fail("revoked by the application");
            return Task.CompletedTask;
        });
        using HttpClient http = _host.MtlsClient(WorkloadId);

        using HttpResponseMessage response = await http.GetAsync(new Uri(address, "/claims"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AddSpiffeX509_EventsSubclass_ValidatedOverrideSeesThePeerAndShapesThePrincipal()
    {
        (_, Uri address) = await StartBothAsync(x509: o => o.Events = new TaggingX509Events());
        using HttpClient http = _host.MtlsClient(WorkloadId);

        Dictionary<string, string> claims = ParseClaims(await http.GetStringAsync(new Uri(address, "/claims")));

        Assert.Equal(WorkloadId.ToString(), claims["tag"]);
        Assert.Equal(WorkloadId.ToString(), claims[SpiffeClaimTypes.SpiffeId]);
    }

    [Fact]
    public async Task AddSpiffeX509_NoClientCertificate_Unauthorized()
    {
        (_, Uri address) = await StartBothAsync();
        using HttpClient http = _host.MtlsClient(null);

        // The mTLS endpoint requires a client certificate: the handshake fails, nothing is served.
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri(address, "/claims")));
    }

    // The certificate-forwarding attack: a client on a plain-HTTP endpoint sends a perfectly valid
    // X509-SVID (public material) in X-Client-Cert; certificate forwarding sets
    // Connection.ClientCertificate from it. The scheme reads only what a handshake verified.
    [Fact]
    public async Task AddSpiffeX509_ForwardedCertificateOnPlainHttp_NeverAuthenticates()
    {
        (_, Uri address) = await _host.StartAsync(
            builder =>
            {
                builder.Services.AddCertificateForwarding(_ => { });
                builder.Services.AddAuthentication().AddSpiffeX509();
                builder.Services.AddAuthorization(o => o.AddPolicy("admin", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(AdminId)));
            },
            app =>
            {
                app.UseCertificateForwarding();
                app.MapGet("/admin", (HttpContext c) => $"{c.User.Identity?.Name}|{c.Connection.ClientCertificate?.Subject ?? "none"}").RequireAuthorization("admin");
                app.MapGet("/forwarded", (HttpContext c) => c.Connection.ClientCertificate is null ? "none" : "set");
            },
            mtls: false);
        using X509.X509Svid admin = _host.Own(_host.Ca.CreateX509Svid(AdminId));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        HttpRequestMessage Forged(string path)
        {
            HttpRequestMessage request = Get(address, path);
            request.Headers.Add("X-Client-Cert", Convert.ToBase64String(admin.Certificate.RawData));
            return request;
        }

        using HttpResponseMessage forwarded = await http.SendAsync(Forged("/forwarded"));
        using HttpResponseMessage response = await http.SendAsync(Forged("/admin"));

        Assert.Equal("set", await forwarded.Content.ReadAsStringAsync()); // the forwarding did happen
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AddSpiffeX509_ForwardedCertificateOnMtls_CallerStaysVerifiedPeer()
    {
        (_, Uri address) = await _host.StartAsync(
            builder =>
            {
                builder.Services.AddCertificateForwarding(_ => { });
                builder.Services.AddAuthentication().AddSpiffeX509();
                builder.Services.AddAuthorization(o => o.AddPolicy("admin", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(AdminId)));
            },
            app =>
            {
                app.UseCertificateForwarding();
                app.MapGet("/admin", () => "admin area").RequireAuthorization("admin");
            });
        using X509.X509Svid admin = _host.Own(_host.Ca.CreateX509Svid(AdminId));
        using HttpClient http = _host.MtlsClient(FrontendId);
        HttpRequestMessage request = Get(address, "/admin");
        request.Headers.Add("X-Client-Cert", Convert.ToBase64String(admin.Certificate.RawData));

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [InlineData(SpiffeJwtAuthenticationOptions.DefaultCacheSize)]
    [InlineData(0)] // cache off: the claims are mapped straight from the token on every request
    public async Task AddSpiffeJwt_ValidToken_AllClaimsMappedAndAudienceMultiValued(int cacheSize)
    {
        (_, Uri address) = await StartBothAsync(mtls: false, jwt: o => o.CacheSize = cacheSize);
        string token = _host.Jwt.MintJwtSvid(WorkloadId, [Audience, "spiffe://example.org/other"]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt-claims", token));
        using HttpResponseMessage again = await http.SendAsync(Get(address, "/jwt-claims", token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(body, await again.Content.ReadAsStringAsync()); // the second one is a cache hit when the cache is on
        string[] lines = body.Split('\n');
        Assert.Contains($"authType={SpiffeAuthenticationDefaults.JwtAuthenticationType}", lines);
        Assert.Contains($"name={WorkloadId}", lines);
        Assert.Contains($"sub={WorkloadId}", lines);
        Assert.Contains($"aud={Audience}", lines);
        Assert.Contains("aud=spiffe://example.org/other", lines);
        Assert.Contains(lines, l => l.StartsWith("exp=", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("iat=", StringComparison.Ordinal));
        Assert.Contains($"svid={WorkloadId}", lines);
    }

    [Fact]
    public async Task AddSpiffeJwt_OnValidatedFails_GenericRejection()
    {
        (_, Uri address) = await StartBothAsync(mtls: false, jwt: o => o.Events.OnValidated = context =>
        {
            context.Fail("revoked by the application");
            return Task.CompletedTask;
        });
        string token = _host.Jwt.MintJwtSvid(WorkloadId, [Audience]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt-claims", token));

        AssertGenericRejection(response, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AddSpiffeJwt_EventsSubclass_ValidatedOverrideSeesTheSvidAndShapesThePrincipal()
    {
        (_, Uri address) = await StartBothAsync(mtls: false, jwt: o => o.Events = new TaggingEvents());
        string token = _host.Jwt.MintJwtSvid(WorkloadId, [Audience]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt-claims", token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string[] lines = (await response.Content.ReadAsStringAsync()).Split('\n');
        Assert.Contains($"tag={WorkloadId}", lines);
        Assert.Contains($"sub={WorkloadId}", lines);
    }

    [Fact]
    public async Task AddSpiffeJwt_NoToken_PlainBearerChallenge()
    {
        (_, Uri address) = await StartBothAsync(mtls: false);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt-claims"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString());
    }

    [Fact]
    public async Task AddSpiffeJwt_WrongAudience_GenericChallengeDetailInLog()
    {
        (WebApplication app, Uri address) = await StartBothAsync(mtls: false);
        string token = _host.Jwt.MintJwtSvid(WorkloadId, ["spiffe://example.org/someone-else"]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt-claims", token));

        AssertGenericRejection(response, await response.Content.ReadAsStringAsync());
        Assert.Contains(Logs(app, 4001), r => r.Message.Contains("someone-else", StringComparison.Ordinal) && r.Message.Contains(Audience, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddSpiffeJwt_ExpiredToken_GenericChallengeDetailInLog()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        (WebApplication app, Uri address) = await StartBothAsync(mtls: false, jwt: o => o.TimeProvider = clock);
        string token = _host.Jwt.MintJwtSvid(WorkloadId, [Audience], TimeSpan.FromMinutes(5));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using HttpResponseMessage before = await http.SendAsync(Get(address, "/jwt-claims", token));
        clock.Advance(TimeSpan.FromMinutes(10));

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt-claims", token));

        Assert.Equal(HttpStatusCode.OK, before.StatusCode); // cached now, yet never used past exp
        AssertGenericRejection(response, await response.Content.ReadAsStringAsync());
        Assert.Contains(Logs(app, 4001), r => r.Message.Contains("expired", StringComparison.Ordinal));
    }

    // A token whose subject is in another trust domain is verified only with that trust domain's
    // bundle: example.org's key cannot vouch for other.org, and other.org has no bundle here.
    [Fact]
    public async Task AddSpiffeJwt_OtherTrustDomainSubject_Rejected()
    {
        (WebApplication app, Uri address) = await StartBothAsync(mtls: false);
        string token = _host.Jwt.MintJwtSvid(SpiffeId.Parse("spiffe://other.org/web"), [Audience]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt-claims", token));

        AssertGenericRejection(response, await response.Content.ReadAsStringAsync());
        Assert.Contains(Logs(app, 4001), r => r.Message.Contains("other.org", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddSpiffeJwt_BadSignature_Rejected()
    {
        (_, Uri address) = await StartBothAsync(mtls: false);
        string token = TestJwtAuthority.FlipSignatureBit(_host.Jwt.MintJwtSvid(WorkloadId, [Audience]));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt-claims", token));

        AssertGenericRejection(response, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(true, false, "no JWT bundle source")]
    [InlineData(false, true, "no audiences")]
    public async Task AddSpiffeJwt_MisconfiguredOptions_StartupFails(bool emptyBundleSource, bool emptyAudiences, string expected)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddAuthentication().AddSpiffeJwt(o =>
        {
            o.BundleSource = emptyBundleSource ? null : _host.JwtBundles;
            o.Audiences = emptyAudiences ? [] : [Audience];
        });
        await using WebApplication app = builder.Build();

        OptionsValidationException e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddSpiffeJwt_BundleSourceFromDi_Validates()
    {
        (_, Uri address) = await _host.StartAsync(
            builder =>
            {
                builder.Services.AddSingleton<Spiffe.Bundles.IJwtBundleSource>(_host.JwtBundles);
                builder.Services.AddAuthentication().AddSpiffeJwt(o => o.Audiences = [Audience]);
                builder.Services.AddAuthorization(o => o.AddPolicy("jwt", p => p.AddAuthenticationSchemes(SpiffeAuthenticationDefaults.JwtScheme).RequireSpiffeId(WorkloadId)));
            },
            app => app.MapGet("/jwt", (HttpContext c) => c.GetJwtSvid().Id.ToString()).RequireAuthorization("jwt"),
            mtls: false);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/jwt", _host.Jwt.MintJwtSvid(WorkloadId, [Audience])));

        Assert.Equal(WorkloadId.ToString(), await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("frontend", "frontend", HttpStatusCode.OK)] // subject is the peer
    [InlineData("frontend", "admin", HttpStatusCode.Forbidden)] // a peer carrying another subject's token
    [InlineData("gateway", "admin", HttpStatusCode.OK)] // an allowed gateway may
    public async Task RequireJwtSvidBoundToPeer_SubjectVersusPeer(string peer, string subject, HttpStatusCode expected)
    {
        (_, Uri address) = await StartBothAsync();
        using HttpClient http = _host.MtlsClient(SpiffeId.Parse("spiffe://example.org/" + peer));
        string token = _host.Jwt.MintJwtSvid(SpiffeId.Parse("spiffe://example.org/" + subject), [Audience]);

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/bound", token));

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal($"spiffe://example.org/{subject} via spiffe://example.org/{peer}", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task RequireJwtSvidBoundToPeer_MtlsWithoutToken_Unauthorized()
    {
        (_, Uri address) = await StartBothAsync();
        using HttpClient http = _host.MtlsClient(FrontendId);

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/bound"));

        // The mTLS identity alone is authenticated, so the binding requirement forbids.
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task BothSchemes_OnePolicy_EitherCredentialAuthenticates()
    {
        (_, Uri address) = await StartBothAsync();
        using HttpClient mtls = _host.MtlsClient(WorkloadId);
        using HttpClient other = _host.MtlsClient(AdminId);

        using HttpResponseMessage byCertificate = await mtls.SendAsync(Get(address, "/either"));
        using HttpResponseMessage byToken = await other.SendAsync(Get(address, "/either", _host.Jwt.MintJwtSvid(WorkloadId, [Audience])));
        using HttpResponseMessage neither = await other.SendAsync(Get(address, "/either"));

        Assert.Equal(HttpStatusCode.OK, byCertificate.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byToken.StatusCode); // the caller is the JWT-SVID's subject
        Assert.Equal(HttpStatusCode.Forbidden, neither.StatusCode);
    }

    private async Task<(WebApplication App, Uri Address)> StartBothAsync(bool mtls = true, Action<SpiffeJwtAuthenticationOptions>? jwt = null, Action<SpiffeX509AuthenticationOptions>? x509 = null) =>
        await _host.StartAsync(
            builder =>
            {
                builder.Services.AddAuthentication()
                    .AddSpiffeX509(x509)
                    .AddSpiffeJwt(o =>
                    {
                        o.Audiences = [Audience];
                        o.BundleSource = _host.JwtBundles;
                        jwt?.Invoke(o);
                    });
                builder.Services.AddAuthorization(o =>
                {
                    o.AddPolicy("x509", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeIdMatching("spiffe://example.org/**"));
                    o.AddPolicy("jwt", p => p.AddAuthenticationSchemes(SpiffeAuthenticationDefaults.JwtScheme).RequireTrustDomain(Domain));
                    o.AddPolicy("bound", p => p.RequireJwtSvidBoundToPeer(SpiffeIdAuthorizer.Exact(GatewayId)));
                    o.AddPolicy("either", p => p.AddSpiffeAuthenticationSchemes(includeJwt: true).RequireSpiffeId(WorkloadId));
                });
            },
            app =>
            {
                app.MapGet("/claims", (HttpContext c) => DescribeClaims(c.User)).RequireAuthorization("x509");
                app.MapGet("/jwt-claims", (HttpContext c) =>
                    string.Join('\n', c.User.Claims.Select(x => $"{x.Type}={x.Value}")
                        .Append($"authType={c.User.Identity!.AuthenticationType}")
                        .Append($"name={c.User.Identity.Name}")
                        .Append($"svid={c.GetJwtSvid().Id}"))).RequireAuthorization("jwt");
                app.MapGet("/bound", (HttpContext c) =>
                {
                    c.User.TryGetJwtSvidSpiffeId(out SpiffeId? subject);
                    c.User.TryGetPeerSpiffeId(out SpiffeId? peer);
                    return $"{subject} via {peer}";
                }).RequireAuthorization("bound");
                app.MapGet("/either", () => "ok").RequireAuthorization("either");
            },
            mtls);

    /// <summary>Events whose <see cref="SpiffeJwtAuthenticationEvents.Validated"/> is overridden, not the delegate.</summary>
    private sealed class TaggingEvents : SpiffeJwtAuthenticationEvents
    {
        public override Task Validated(SpiffeJwtValidatedContext context)
        {
            ((ClaimsIdentity)context.Principal!.Identity!).AddClaim(new Claim("tag", context.JwtSvid.Id.ToString()));
            return base.Validated(context);
        }
    }

    /// <summary>mTLS events whose <see cref="SpiffeX509AuthenticationEvents.Validated"/> is overridden, not the delegate.</summary>
    private sealed class TaggingX509Events : SpiffeX509AuthenticationEvents
    {
        public override Task Validated(SpiffeX509ValidatedContext context)
        {
            ((ClaimsIdentity)context.Principal!.Identity!).AddClaim(new Claim("tag", context.Peer.SpiffeId.ToString()));
            return base.Validated(context);
        }
    }

    private static string DescribeClaims(ClaimsPrincipal user) =>
        string.Join('\n', user.Claims.Select(c => $"{c.Type}={c.Value}")
            .Append($"authType={user.Identity!.AuthenticationType}")
            .Append($"name={user.Identity.Name}"));

    private static Dictionary<string, string> ParseClaims(string body) =>
        body.Split('\n').Select(l => l.Split('=', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);

    private static void AssertGenericRejection(HttpResponseMessage response, string body)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(GenericInvalidToken, Assert.Single(response.Headers.WwwAuthenticate).ToString());
        Assert.Equal(string.Empty, body);
    }
}

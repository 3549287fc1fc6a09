using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.AspNetCore.Opa;
using Spiffe.Bundles;
using Spiffe.Credentials;
using Spiffe.Federation;
using Spiffe.Files;
using Spiffe.Jwt;
using Spiffe.Samples.Greeter;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>
/// README.md. Compiled only: these bind fixed ports and need an agent (tests/Spiffe.Samples.Tests runs
/// the Kestrel sample, configured like the quick start, with the README's curl and openssl commands).
/// What a block uses without declaring it is a parameter here.
/// </summary>
internal static class ReadmeExamples
{
    public static void QuickStart(string[] args)
    {
        // <snippet:readme-quick-start>
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddSpiffe();                                           // the "Spiffe" section below
        builder.Services.AddAuthentication().AddSpiffeX509();                   // the caller = the peer the TLS handshake verified
        builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true);   // policies from Spiffe:Authorization:Policies
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen => listen.UseSpiffeMtls())); // admits Spiffe:Authorization
        var app = builder.Build();
        app.MapGet("/hello", (HttpContext http) => $"hello {http.GetSpiffeId()}").RequireAuthorization("Hello");
        app.Run();
        // </snippet>
    }

    public static async Task BuildingBlocksAsync(X509Certificate2[] peerChain, string bearer)
    {
        // <snippet:readme-building-blocks>
        await using var source = await X509Source.CreateAsync();               // SPIFFE_ENDPOINT_SOCKET; rotates by itself
        var frontend = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/frontend"); // strict: no normalising, ever
        SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.Exact(frontend);    // everyone else is denied
        var validator = new X509SvidValidator(source);                         // trusts only the peer's own trust domain's CAs
        X509SvidValidationResult peer = validator.Validate(peerChain);         // leaf first, as presented
        bool allowed = peer.IsValid && authorizer.IsAuthorized(peer.SpiffeId!);
        await using var jwt = await JwtSource.CreateAsync();
        JwtSvid token = await jwt.GetJwtSvidAsync(new JwtSvidRequest(["spiffe://example.org/backend"])); // cached, refreshed at half-life
        JwtSvid caller = JwtSvid.ParseAndValidate(bearer, jwt, ["spiffe://example.org/backend"]);
        // </snippet>
    }

    public static void KestrelExplicitSource(WebApplicationBuilder builder, X509Source source, SpiffeId frontend)
    {
        // <snippet:readme-kestrel-explicit-source>
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen =>
            listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Exact(frontend))));
        builder.Services.AddAuthentication().AddSpiffeX509(); // see "Authentication and authorization in ASP.NET Core"
        builder.Services.AddAuthorization();
        var app = builder.Build();
        app.MapGet("/", (HttpContext http) => $"hello {http.GetSpiffeId()}").RequireTrustDomain(frontend.TrustDomain);
        // </snippet>
    }

    public static void AddSpiffe(string[] args)
    {
        // <snippet:readme-addspiffe>
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddSpiffe();                                        // Spiffe.AspNetCore; binds "Spiffe"
        builder.Services.AddHealthChecks().AddSpiffe();
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen => listen.UseSpiffeMtls()));  // admits Spiffe:Authorization
        var app = builder.Build();
        app.MapGet("/", (HttpContext http) => $"hello {http.GetSpiffeId()}");
        app.MapHealthChecks("/healthz");
        app.Run();
        // </snippet>
    }

    public static void ConfiguredEndpoint(WebApplicationBuilder builder)
    {
        // <snippet:readme-configured-endpoint>
        builder.WebHost.ConfigureKestrel((context, k) => k.Configure(context.Configuration.GetSection("Kestrel"))
            .Endpoint("Mtls", endpoint => endpoint.ListenOptions.UseSpiffeMtls()));     // "Kestrel": { "Endpoints": { "Mtls": { "Url": "https://*:8443" } } }
        // </snippet>
    }

    public static void HttpClientAndGrpc(X509Source source)
    {
        // <snippet:readme-httpclient-grpc>
        var backend = SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/backend"));
        using var http = new HttpClient(new SpiffeHttpHandler(source, source, backend));  // Spiffe.Tls, in Spiffe.Core
        using var channel = GrpcChannel.ForAddress("https://backend:8443", new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(source, source, backend) });
        // </snippet>
    }

    public static void HttpClientFactory(IServiceCollection services, X509Source source, SpiffeIdAuthorizer backend)
    {
        // <snippet:readme-httpclient-factory>
        services.AddSingleton(source);                                            // the app creates and disposes the X509Source
        services.AddHttpClient("backend", c => c.BaseAddress = new Uri("https://backend:8443"))
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), backend);
        services.AddGrpcClient<Greeter.GreeterClient>(o => o.Address = new Uri("https://backend:8443"))
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), backend);
        // </snippet>
    }

    public static void SchemesAndPolicies(WebApplicationBuilder builder, SpiffeId frontendId, SpiffeId gatewayId)
    {
        // <snippet:readme-schemes-policies>
        builder.Services.AddAuthentication()
            .AddSpiffeX509()                                                     // the mTLS peer verified by UseSpiffeMtls
            .AddSpiffeJwt(o => o.Audiences = ["spiffe://example.org/orders"]);   // Authorization: Bearer <JWT-SVID>
        builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true);   // config policies, deny by default, telemetry
        builder.Services.AddAuthorization(o =>
        {
            o.AddPolicy("frontend", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(frontendId));
            o.AddPolicy("partners", p => p.AddSpiffeAuthenticationSchemes().RequireTrustDomain(TrustDomain.Parse("partner.org")));
            o.AddPolicy("prod", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeIdMatching("spiffe://example.org/ns/{ns}/sa/*"));
            o.AddPolicy("bound", p => p.RequireJwtSvidBoundToPeer(gateways: SpiffeIdAuthorizer.Exact(gatewayId)));
        });
        var app = builder.Build();
        app.MapGet("/orders", (HttpContext c) => $"orders for {c.User.Identity!.Name}").RequireAuthorization("frontend");
        app.MapGet("/ns", (HttpContext c) => c.Features.Get<ISpiffeIdMatchFeature>()!.Values["ns"]).RequireAuthorization("prod");
        // </snippet>
    }

    public static void TrustedProxies(WebApplicationBuilder builder)
    {
        // <snippet:readme-trusted-proxies>
        builder.Services.AddAuthentication().AddSpiffeX509(o =>
            o.TrustedProxies = SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/ns/mesh/sa/envoy")));
        // </snippet>
    }

    public static void Opa(WebApplicationBuilder builder)
    {
        // <snippet:readme-opa>
        builder.Services.AddAuthentication().AddSpiffeX509();
        builder.Services.AddOpaAuthorization(o =>
        {
            o.Endpoint = new Uri("http://127.0.0.1:8181/");   // OPA sidecar
            o.DecisionPath = "http/authz/allow";              // data.http.authz.allow
            o.Timeout = TimeSpan.FromMilliseconds(500);
            o.CacheTtl = TimeSpan.FromSeconds(10);
            o.Headers.Add("x-tenant");                        // allow-listed headers sent to OPA
        });
        builder.Services.AddAuthorization(o => o.AddPolicy("payments", p => p.AddSpiffeAuthenticationSchemes().RequireOpaDecision()));
        // </snippet>
    }

    public static async Task FilesAsync(ListenOptions listen, SpiffeId frontend)
    {
        // <snippet:readme-files>
        await using var files = await FileX509Source.CreateAsync(new FileX509SourceOptions
        {
            Directory = "/var/run/secrets/spiffe.io",          // csi-driver-spiffe: tls.crt, tls.key, ca.crt (default)
            // Layout = FileSvidLayout.SpiffeHelper,          // spiffe-helper: svid.pem, svid_key.pem, svid_bundle.pem
            FederatedBundlesDirectory = "/etc/spiffe/federated", // optional: <trust-domain>.pem or <trust-domain>.json
        });
        listen.UseSpiffeMtls(files, files, SpiffeIdAuthorizer.Exact(frontend));
        // </snippet>
    }

    public static async Task FederationAsync(X509Source source, JwtSource jwtSource, ListenOptions listen, WebApplication app)
    {
        // <snippet:readme-federation>
        await using var federated = new FederatedBundleSource(new FederatedBundleSourceOptions
        {
            Relationships = { new FederationRelationship { TrustDomain = TrustDomain.Parse("partner.org"),
                EndpointUrl = new Uri("https://bundle.partner.org/bundle"), Profile = BundleEndpointProfile.HttpsWeb } },
        });
        var bundles = new CombinedX509BundleSource(source, federated);            // and CombinedJwtBundleSource
        listen.UseSpiffeMtls(source, bundles, SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("partner.org")));
        app.MapSpiffeBundleEndpoint("/bundle", TrustDomain.Parse("example.org"), source, jwtSource); // serve ours
        // </snippet>
    }

    public static async Task CredentialsAsync(CancellationToken ct)
    {
        // <snippet:readme-credentials>
        await using JwtSource jwt = await JwtSource.CreateAsync(cancellationToken: ct);
        await using var vault = new VaultTokenSource(new VaultTokenSourceOptions
        {
            VaultAddress = new Uri("https://vault:8200"), Mount = "jwt", Role = "orders", JwtSvidSource = jwt, Audiences = { "vault" },
        });
        VaultToken token = await vault.GetTokenAsync(ct);                 // X-Vault-Token: token.ClientToken

        await using var aws = new AwsCredentialSource(new AwsCredentialSourceOptions
        {
            RoleArn = "arn:aws:iam::123456789012:role/orders", JwtSvidSource = jwt, Audiences = { "sts.amazonaws.com" },
        });
        AwsCredentials credentials = await aws.GetCredentialsAsync(ct);   // AccessKeyId, SecretAccessKey, SessionToken, ExpiresAt
        // </snippet>
    }
}

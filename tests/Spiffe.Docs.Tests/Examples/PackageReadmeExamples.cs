using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.AspNetCore.Opa;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Samples.Greeter;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>
/// The package READMEs (src/*/README.md, shown on the NuGet gallery) and the samples' READMEs.
/// Compiled only; what a block uses without declaring it is a parameter here.
/// </summary>
internal static class PackageReadmeExamples
{
    public static void AspNetCore(string[] args)
    {
        // <snippet:package-aspnetcore>
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddSpiffe();   // "Spiffe": { "Authorization": { "AllowedIds": [ "spiffe://example.org/frontend" ] } }
        builder.Services.AddAuthentication().AddSpiffeX509();
        builder.Services.AddAuthorization(o => o.AddPolicy("frontend", p =>
            p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(SpiffeId.Parse("spiffe://example.org/frontend"))));
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen => listen.UseSpiffeMtls()));
        var app = builder.Build();
        app.MapGet("/", (HttpContext http) => $"hello {http.GetSpiffeId()}").RequireAuthorization("frontend");
        app.Run();
        // </snippet>
    }

    public static void GrpcSetup(WebApplicationBuilder builder)
    {
        // <snippet:package-grpc-setup>
        builder.Services.AddSpiffe();                 // Spiffe.AspNetCore: sources from the "Spiffe" section
        builder.Services.AddGrpc();
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen => listen.UseSpiffeMtls()));
        // </snippet>
    }

    // <snippet:package-grpc-service>
    public sealed class GreeterService : Greeter.GreeterBase
    {
        public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context) =>
            Task.FromResult(new HelloReply { Message = $"hello {context.GetSpiffeId()}" });
    }
    // </snippet>

    public static void Opa(WebApplicationBuilder builder)
    {
        // <snippet:package-opa>
        builder.Services.AddSpiffe();                                          // Spiffe.AspNetCore
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, l => l.UseSpiffeMtls()));
        builder.Services.AddAuthentication().AddSpiffeX509();
        builder.Services.AddOpaAuthorization(o =>
        {
            o.Endpoint = new Uri("http://127.0.0.1:8181/");                    // OPA sidecar
            o.DecisionPath = "http/authz/allow";                               // data.http.authz.allow
        });
        builder.Services.AddAuthorization(o =>
            o.AddPolicy("payments", p => p.AddSpiffeAuthenticationSchemes().RequireOpaDecision()));

        var app = builder.Build();
        app.MapPost("/v1/payments", (HttpContext http) => Results.Accepted()).RequireAuthorization("payments");
        // </snippet>
    }

    public static bool Core(X509BundleSet bundleSource, IX509SvidSource svidSource, IReadOnlyList<System.Security.Cryptography.X509Certificates.X509Certificate2> peerChain)
    {
        // <snippet:package-core>
        var frontend = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/frontend");
        SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.Exact(frontend);       // everyone else is denied
        var validator = new X509SvidValidator(bundleSource);                      // the peer's own trust domain only
        X509SvidValidationResult peer = validator.Validate(peerChain);            // leaf first, as presented
        bool allowed = peer.IsValid && authorizer.IsAuthorized(peer.SpiffeId!);

        var backend = SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/backend"));
        using var http = new HttpClient(new SpiffeHttpHandler(svidSource, bundleSource, backend));
        // </snippet>
        return allowed;
    }

    public static async Task TestingAsync()
    {
        // <snippet:package-testing>
        await using var server = await WorkloadApiServer.StartAsync();
        var ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        // push SVIDs and bundles minted by ca, then point the code under test at server.Address
        // </snippet>
        ca.Dispose();
    }

    public static async Task<JwtSvid> WorkloadApiAsync()
    {
        // <snippet:package-workloadapi>
        await using var source = await X509Source.CreateAsync();   // address from SPIFFE_ENDPOINT_SOCKET
        var backend = SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/backend"));
        using var http = new HttpClient(new SpiffeHttpHandler(source, source, backend));   // mutual TLS, rotating

        await using var jwt = await JwtSource.CreateAsync();
        JwtSvid token = await jwt.GetJwtSvidAsync(new JwtSvidRequest(["spiffe://example.org/backend"]));
        // </snippet>
        return token;
    }

    public static void WorkloadApiFactory(IServiceCollection services, SpiffeIdAuthorizer backend)
    {
        // <snippet:package-workloadapi-factory>
        services.AddHttpClient("backend", c => c.BaseAddress = new Uri("https://backend:8443"))
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), backend);
        // </snippet>
    }

    public static void GrpcSampleChannel(string address, X509Source source, SpiffeId serverId)
    {
        // <snippet:sample-grpc-channel>
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(serverId)) });
        // </snippet>
    }
}

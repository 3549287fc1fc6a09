using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.WorkloadApi;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/kestrel.md. Compiled only: these bind fixed ports and need an agent.</summary>
internal static class KestrelExamples
{
    public static async Task ExplicitSourceAsync(string[] args)
    {
        // <snippet:kestrel-explicit-source>
        await using var source = await X509Source.CreateAsync();     // SPIFFE_ENDPOINT_SOCKET
        var frontend = SpiffeId.Parse("spiffe://example.org/frontend");

        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(8443, listen =>
            listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Exact(frontend))));
        var app = builder.Build();
        app.MapGet("/", (HttpContext http) => $"hello {http.GetSpiffeId()}");
        await app.RunAsync();
        // </snippet>
    }

    public static void AddSpiffe(string[] args)
    {
        // <snippet:kestrel-addspiffe>
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddSpiffe();                                // binds the "Spiffe" section
        builder.Services.AddHealthChecks().AddSpiffe();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(8443, listen =>
            listen.UseSpiffeMtls()));                                // admits Spiffe:Authorization
        var app = builder.Build();
        app.MapGet("/", (HttpContext http) => $"hello {http.GetSpiffeId()}");
        app.MapHealthChecks("/healthz");
        app.Run();
        // </snippet>
    }

    public static void ConfiguredEndpoint(WebApplicationBuilder builder)
    {
        // <snippet:kestrel-configured-endpoint>
        builder.Services.AddSpiffe();
        builder.WebHost.ConfigureKestrel((context, kestrel) => kestrel
            .Configure(context.Configuration.GetSection("Kestrel"))
            .Endpoint("Mtls", endpoint => endpoint.ListenOptions.UseSpiffeMtls()));
        // </snippet>
    }

    public static void Overrides(WebApplicationBuilder builder)
    {
        // <snippet:kestrel-overrides>
        var partners = SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("partner.org"));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenAnyIP(8443, listen => listen.UseSpiffeMtls(partners));   // overrides Spiffe:Authorization
            kestrel.ListenAnyIP(8444, listen => listen.UseSpiffeTls());            // server TLS only, no client certificate
        });
        // </snippet>
    }

    public static void Schemes(WebApplicationBuilder builder, SpiffeId frontendId, SpiffeId gatewayId)
    {
        // <snippet:kestrel-schemes>
        builder.Services.AddAuthentication()
            .AddSpiffeX509()                                               // the peer verified by UseSpiffeMtls
            .AddSpiffeJwt(o => o.Audiences = ["spiffe://example.org/orders"]); // Authorization: Bearer <JWT-SVID>
        builder.Services.AddAuthorization(o =>
        {
            o.AddPolicy("frontend", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(frontendId));
            o.AddPolicy("partners", p => p.AddSpiffeAuthenticationSchemes().RequireTrustDomain(TrustDomain.Parse("partner.org")));
            o.AddPolicy("prod", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeIdMatching("spiffe://example.org/ns/{ns}/sa/*"));
            o.AddPolicy("bound", p => p.RequireJwtSvidBoundToPeer(gateways: SpiffeIdAuthorizer.Exact(gatewayId)));
        });
        // </snippet>
    }

    public static void Endpoints(WebApplication app)
    {
        // <snippet:kestrel-endpoints>
        app.MapGet("/orders", (HttpContext http) => $"orders for {http.GetSpiffeId()}").RequireAuthorization("frontend");
        app.MapGet("/ns", (HttpContext http) => http.Features.Get<ISpiffeIdMatchFeature>()!.Values["ns"])
            .RequireAuthorization("prod");
        app.MapGet("/me", (HttpContext http) =>
            http.User.TryGetSpiffeId(out SpiffeId? caller) ? caller.ToString() : "nobody")
            .RequireAuthorization("partners");
        // </snippet>
    }

    public static void ConfigurationPolicies(WebApplicationBuilder builder)
    {
        // <snippet:kestrel-config-policies>
        builder.Services.AddAuthentication().AddSpiffeX509();
        builder.Services.AddAuthorization();
        builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true); // Spiffe:Authorization:Policies:<name>
        // </snippet>
    }

    public static void Shorthands(WebApplication app, SpiffeId frontendId, TrustDomain partner)
    {
        // <snippet:kestrel-shorthands>
        app.MapGet("/admin", () => "ok").RequireSpiffeId(frontendId);
        app.MapGet("/partner", () => "ok").RequireTrustDomain(partner);
        app.MapGet("/health", () => "ok").AllowAnonymous();               // still open under DenyByDefault
        // </snippet>
    }

    public static void X509Events(WebApplicationBuilder builder)
    {
        // <snippet:kestrel-x509-events>
        builder.Services.AddAuthentication().AddSpiffeX509(o => o.Events.OnValidated = context =>
        {
            // context.SpiffeId and context.Certificate are what this connection's handshake verified.
            if (context.SpiffeId.Path.StartsWith("/ns/test/", StringComparison.Ordinal))
            {
                context.Fail("test workloads may not call this service");
            }

            return Task.CompletedTask;
        });
        // </snippet>
    }
}

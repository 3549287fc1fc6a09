using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Spiffe.AspNetCore;
using Spiffe.Bundles;
using Spiffe.Federation;
using Spiffe.Jwt;
using Spiffe.WorkloadApi;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/federation.md. Compiled only; tests/Spiffe.WorkloadApi.Tests runs both profiles against real Kestrel.</summary>
internal static class FederationExamples
{
    public static FederatedBundleSource HttpsWeb()
    {
        // <snippet:federation-https-web>
        var federated = new FederatedBundleSource(new FederatedBundleSourceOptions
        {
            Relationships =
            {
                new FederationRelationship
                {
                    TrustDomain = TrustDomain.Parse("partner.org"),
                    EndpointUrl = new Uri("https://bundle.partner.org/bundle"),
                    Profile = BundleEndpointProfile.HttpsWeb,        // the system trust store checks the server
                },
            },
        });
        // </snippet>
        return federated;
    }

    public static FederationRelationship HttpsSpiffe()
    {
        // <snippet:federation-https-spiffe>
        var partner = TrustDomain.Parse("partner.org");
        var relationship = new FederationRelationship
        {
            TrustDomain = partner,
            EndpointUrl = new Uri("https://spire.partner.org:8443"),
            Profile = BundleEndpointProfile.HttpsSpiffe,
            EndpointSpiffeId = SpiffeId.Parse("spiffe://partner.org/spire/server"),
            BootstrapBundle = SpiffeBundle.Parse(partner, File.ReadAllText("partner.org.bundle.json")), // obtained out of band
        };
        // </snippet>
        return relationship;
    }

    public static void Combine(WebApplicationBuilder builder, X509Source source, JwtSource jwt, FederatedBundleSource federated)
    {
        // <snippet:federation-combine>
        var x509Bundles = new CombinedX509BundleSource(source, federated);   // the first source that has a trust domain wins
        var jwtBundles = new CombinedJwtBundleSource(jwt, federated);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(8443, listen =>
            listen.UseSpiffeMtls(source, x509Bundles, SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("partner.org")))));
        var validator = new JwtSvidValidator(jwtBundles, ["spiffe://example.org/orders"]);
        // </snippet>
        _ = validator;
    }

    public static void Serve(WebApplicationBuilder builder, X509Source source, JwtSource jwt)
    {
        // <snippet:federation-serve>
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(8443, listen =>
            listen.UseSpiffeTls(source)));                         // https_spiffe: no client certificate asked
        var app = builder.Build();
        app.MapSpiffeBundleEndpoint("/bundle", TrustDomain.Parse("example.org"), source, jwt);
        // </snippet>
    }

    public static void ServeWithOptions(WebApplication app, X509Source source)
    {
        // <snippet:federation-serve-options>
        app.MapSpiffeBundleEndpoint("/bundle", new SpiffeBundleEndpointOptions
        {
            TrustDomain = TrustDomain.Parse("example.org"),
            X509Bundles = source,
            RefreshHint = TimeSpan.FromMinutes(1),
        });
        // </snippet>
    }
}

using System.Net.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/migrating-from-csharp-spiffe.md: this SDK's side of each mapping. Compiled only.</summary>
internal static class MigrationExamples
{
    public static async Task SourcesAsync()
    {
        // <snippet:migration-sources>
        var options = new WorkloadApiClientOptions { Address = "unix:///tmp/spire-agent/public/api.sock" }; // or SPIFFE_ENDPOINT_SOCKET
        await using var x509 = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = options });
        await using var jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = options });
        await using var bundles = await BundleSource.CreateAsync(new BundleSourceOptions { ClientOptions = options });
        // </snippet>
    }

    public static async Task WatchAsync(ILogger logger, CancellationToken stopping)
    {
        // <snippet:migration-watch>
        await using var client = WorkloadApiClient.Create();             // SPIFFE_ENDPOINT_SOCKET
        await foreach (X509Context context in client.WatchX509ContextAsync(stopping))
        {
            foreach (X509Svid svid in context.Svids)
            {
                logger.LogInformation("SVID {Id} expires {ExpiresAt}", svid.Id, svid.ExpiresAt);
            }
        }
        // </snippet>
    }

    public static void Kestrel(WebApplicationBuilder builder, X509Source source)
    {
        // <snippet:migration-kestrel>
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(5001, listen =>
            listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse("example.org")))));
        // </snippet>
    }

    public static (SslClientAuthenticationOptions Client, SslServerAuthenticationOptions Server) SslStreams(X509Source source, SpiffeIdAuthorizer authorizer)
    {
        // <snippet:migration-sslstream>
        SslClientAuthenticationOptions client = SpiffeTlsClient.MutualTls(source, source, authorizer).GetOptions("backend");
        SslServerAuthenticationOptions server = SpiffeTlsServer.MutualTls(source, source, authorizer).GetOptions();
        SslClientAuthenticationOptions tlsOnly = SpiffeTlsClient.Tls(source, authorizer).GetOptions("backend");
        // </snippet>
        _ = tlsOnly;
        return (client, server);
    }

    public static HttpClient Http(X509Source source)
    {
        // <snippet:migration-httpclient>
        var handler = new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/backend")),
            new SpiffeHttpHandlerOptions { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        var http = new HttpClient(handler);
        // </snippet>
        return http;
    }

    public static async Task JwtAsync(JwtSource jwt, string token)
    {
        // <snippet:migration-jwt>
        JwtSvid mine = await jwt.GetJwtSvidAsync(new JwtSvidRequest(
            ["spiffe://example.org/backend", "spiffe://example.org/audit"], subject: null));   // cached until half-life

        var validator = new JwtSvidValidator(jwt, ["spiffe://example.org/backend"]);
        JwtSvidValidationResult result = validator.Validate(token);                           // no exception on a bad token
        JwtSvid unverified = JwtSvid.ParseInsecure(token, ["spiffe://example.org/backend"]);     // signature not checked
        // </snippet>
        _ = (mine, result, unverified);
    }

    public static void Identifiers(X509Source source)
    {
        // <snippet:migration-ids>
        SpiffeId id = SpiffeId.Parse("spiffe://example.org/web");          // FormatException names the broken rule
        bool ok = SpiffeId.TryParse("spiffe://Example.org/web", out _);     // false: no normalising
        TrustDomain td = TrustDomain.Parse("example.org");
        X509Bundle? bundle = source.GetX509Bundle(td);                       // null, not an exception, when absent
        X509Svid svid = source.GetX509Svid();
        var leaf = svid.Certificate;                                         // svid.Chain: leaf first, then intermediates
        // </snippet>
        _ = (id, ok, bundle, leaf);
    }
}

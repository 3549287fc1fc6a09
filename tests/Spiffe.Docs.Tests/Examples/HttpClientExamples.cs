using Microsoft.Extensions.DependencyInjection;
using Spiffe.AspNetCore;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/httpclient.md. Compiled only: they call a backend that is not there.</summary>
internal static class HttpClientExamples
{
    public static async Task HandlerAsync()
    {
        // <snippet:httpclient-handler>
        await using var source = await X509Source.CreateAsync();
        var backend = SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/backend"));
        using var http = new HttpClient(new SpiffeHttpHandler(source, source, backend));
        string answer = await http.GetStringAsync(new Uri("https://backend.example.org:8443/"));
        // </snippet>
        _ = answer;
    }

    public static SpiffeHttpHandler HandlerOptions(X509Source source, SpiffeIdAuthorizer backend)
    {
        // <snippet:httpclient-handler-options>
        var handler = new SpiffeHttpHandler(source, source, backend, new SpiffeHttpHandlerOptions
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),       // capped by SVID lifetime / 4
            ConfigureHandler = sockets => sockets.MaxConnectionsPerServer = 20,
        });
        // </snippet>
        return handler;
    }

    public static void Factory(IServiceCollection services, X509Source source)
    {
        // <snippet:httpclient-factory>
        var backend = SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/backend"));
        services.AddSingleton(source);                     // you create and dispose the X509Source
        services.AddHttpClient("backend", c => c.BaseAddress = new Uri("https://backend.example.org:8443"))
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), backend);
        // </snippet>
    }

    public static void FactoryWithAddSpiffe(IServiceCollection services)
    {
        // <snippet:httpclient-factory-addspiffe>
        services.AddSpiffe(); // Spiffe.AspNetCore: X509Source as a started DI singleton
        services.AddHttpClient<OrdersClient>(c => c.BaseAddress = new Uri("https://orders.example.org:8443"))
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(),
                SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/orders")));
        // </snippet>
    }

    public static async Task BearerAsync(X509Source source, SpiffeIdAuthorizer backend)
    {
        // <snippet:httpclient-jwt-bearer>
        await using var jwt = await JwtSource.CreateAsync();
        using var http = new HttpClient(new JwtSvidBearerHandler(jwt, ["spiffe://example.org/backend"],
            innerHandler: new SpiffeHttpHandler(source, source, backend)));   // or any HttpMessageHandler
        // </snippet>
        _ = http;
    }

    public static void BearerFactory(IServiceCollection services, SpiffeIdAuthorizer backend)
    {
        // <snippet:httpclient-jwt-bearer-factory>
        services.AddHttpClient("backend")
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), backend)
            .AddHttpMessageHandler(sp => new JwtSvidBearerHandler(
                sp.GetRequiredService<JwtSource>(), ["spiffe://example.org/backend"]));
        // </snippet>
    }
}

/// <summary>A typed client for the examples.</summary>
internal sealed class OrdersClient(HttpClient http)
{
    public Task<string> GetAsync() => http.GetStringAsync(new Uri("/orders", UriKind.Relative));
}

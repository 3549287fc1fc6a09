// What a user writes: AddSpiffe() (identity from the Workload API at SPIFFE_ENDPOINT_SOCKET, started
// with the host), Kestrel serving mutual TLS from DI, a policy on the endpoint, and an HttpClient
// calling it over mutual TLS. The peer allowed in is given on the command line as configuration:
//   dotnet Spiffe.Consumer.dll --Spiffe:Authorization:AllowedIds:0=spiffe://example.org/consumer
// Prints "consumer: ok ..." and exits 0, or the reason and exits 1.
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
try
{
    WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
    builder.Logging.ClearProviders();
    builder.Services.AddSpiffe();
    builder.Services.AddAuthentication().AddSpiffeX509();
    builder.Services.AddAuthorization(o => o.AddPolicy("consumer", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeIdMatching("spiffe://example.org/consumer")));
    builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseSpiffeMtls()));
    await using WebApplication app = builder.Build();
    app.MapGet("/", (HttpContext http) => $"hello {http.GetSpiffeId()}").RequireAuthorization("consumer");
    await app.StartAsync(deadline.Token);
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

    X509Source source = app.Services.GetRequiredService<X509Source>();
    SpiffeId self = source.GetX509Svid().Id;
    using var http = new HttpClient(new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(self))) { BaseAddress = new Uri(address) };
    string answer = await http.GetStringAsync(new Uri("/", UriKind.Relative), deadline.Token);
    if (answer != $"hello {self}")
    {
        throw new InvalidOperationException($"unexpected answer '{answer}'");
    }

    Console.WriteLine($"consumer: ok served and called mTLS at {address} as {self}");
    await app.StopAsync(deadline.Token);
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"consumer: FAILED {e.GetType().Name}: {e.Message}");
    return 1;
}

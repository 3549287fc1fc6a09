// What a user writes: identity from the Workload API (SPIFFE_ENDPOINT_SOCKET), Kestrel serving
// mutual TLS, and an HttpClient calling it over mutual TLS, each side admitting only this
// workload's own SPIFFE ID. Prints "consumer: ok ..." and exits 0, or the reason and exits 1.
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
try
{
    await using X509Source source = await X509Source.CreateAsync(cancellationToken: deadline.Token);
    SpiffeId self = source.GetX509Svid().Id;
    SpiffeIdAuthorizer onlySelf = SpiffeIdAuthorizer.Exact(self);

    WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
    builder.Logging.ClearProviders();
    builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseSpiffeMtls(source, onlySelf)));
    await using WebApplication app = builder.Build();
    app.MapGet("/", (HttpContext http) => $"hello {http.GetSpiffeId()}").RequireSpiffeId(self);
    await app.StartAsync(deadline.Token);
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

    using var http = new HttpClient(new SpiffeHttpHandler(source, source, onlySelf)) { BaseAddress = new Uri(address) };
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

// A gRPC service (Grpc.AspNetCore) on Kestrel with mutual TLS from the Workload API: UseSpiffeMtls
// admits only the configured client ID in the handshake, and the greeter reads the caller's ID from
// ServerCallContext.GetSpiffeId().
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.Samples;
using Spiffe.WorkloadApi;

if (!SampleArguments.TryParse(() => SampleServiceSettings.Parse(args, "Spiffe.Samples.GrpcService"), out SampleServiceSettings? settings))
{
    return 2; // bad or unknown option, already explained on stderr
}

(SpiffeId ownId, SpiffeId clientId, IPAddress host, int port) = settings;

try
{
    await using X509Source source = await SampleIdentity.OpenAsync(ownId, CancellationToken.None);
    source.Updated += (_, _) => Console.WriteLine($"SVID update: presenting {source.GetX509Svid().Id} serial {source.GetX509Svid().Certificate.SerialNumber}");

    WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddGrpc();
    builder.Services.AddSingleton(source);
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(host, port, listen =>
        listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Exact(clientId)))); // HTTP/2 by ALPN; others fail the handshake

    await using WebApplication app = builder.Build();
    app.MapGrpcService<GreeterService>();

    await app.StartAsync();
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    Console.WriteLine($"listening on {address} as {ownId} (serial {source.GetX509Svid().Certificate.SerialNumber}); admits only {clientId}");
    await app.WaitForShutdownAsync();
    Console.WriteLine("stopped");
    return 0;
}
catch (Exception e) when (e is SpiffeException or InvalidOperationException or IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

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

const string Usage = "Spiffe.Samples.GrpcService [--id spiffe://example.org/backend] [--client-id spiffe://example.org/frontend] [--host 0.0.0.0] [--port 8443]";

SpiffeId ownId, clientId;
IPAddress host;
int port;
try
{
    SampleArguments arguments = SampleArguments.Parse(args);
    ownId = arguments.GetSpiffeId("--id", "SAMPLE_SPIFFE_ID", "spiffe://example.org/backend");
    clientId = arguments.GetSpiffeId("--client-id", "SAMPLE_CLIENT_ID", "spiffe://example.org/frontend");
    string hostText = arguments.Get("--host", "SAMPLE_HOST", "0.0.0.0");
    host = IPAddress.TryParse(hostText, out IPAddress? parsed) ? parsed : throw new ArgumentException($"--host (SAMPLE_HOST): '{hostText}' is not an IP address.");
    port = arguments.GetInt32("--port", "SAMPLE_PORT", 8443, 0, 65535); // 0: any free port, printed below
    arguments.ThrowIfUnknownOptions(Usage);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

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

// A minimal API on Kestrel that only one workload may call: mutual TLS from the Workload API
// (UseSpiffeMtls, the SVID rotating underneath), the caller's SPIFFE ID checked twice — in the TLS
// handshake (the connection authorizer) and on the endpoint (RequireSpiffeId).
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.Samples;
using Spiffe.WorkloadApi;

if (!SampleArguments.TryParse(() => SampleServiceSettings.Parse(args, "Spiffe.Samples.KestrelService"), out SampleServiceSettings? settings))
{
    return 2; // bad or unknown option, already explained on stderr
}

(SpiffeId ownId, SpiffeId clientId, IPAddress host, int port) = settings;

try
{
    // SPIFFE_ENDPOINT_SOCKET says where the agent is, e.g. unix:///run/spire/agent-sockets/spire-agent.sock.
    // SAMPLE_SVID_DIRECTORY instead reads tls.crt, tls.key and ca.crt from a directory (cert-manager's
    // csi-driver-spiffe volume, samples/kubernetes/variants) and follows their rotation.
    string? svidDirectory = Environment.GetEnvironmentVariable("SAMPLE_SVID_DIRECTORY");
    await using IAsyncDisposable owner = svidDirectory is null
        ? await SampleIdentity.OpenAsync(ownId, CancellationToken.None)
        : await Spiffe.Files.FileX509Source.CreateAsync(new Spiffe.Files.FileX509SourceOptions { Directory = svidDirectory });
    var source = (Spiffe.X509.IX509SvidSource)owner;
    var bundles = (Spiffe.Bundles.IX509BundleSetSource)owner;
    void PrintUpdate() => Console.WriteLine($"SVID update: presenting {source.GetX509Svid().Id} serial {source.GetX509Svid().Certificate.SerialNumber}");
    if (owner is X509Source workloadApi)
    {
        workloadApi.Updated += (_, _) => PrintUpdate();
    }
    else if (owner is Spiffe.Files.FileX509Source files)
    {
        files.Updated += (_, _) => PrintUpdate();
    }

    WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddAuthentication().AddSpiffeX509(); // the caller = the peer this connection's handshake verified
    builder.Services.AddAuthorization();
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(host, port, listen =>
        listen.UseSpiffeMtls(source, bundles, SpiffeIdAuthorizer.Exact(clientId)))); // anyone else fails the handshake

    await using WebApplication app = builder.Build();
    app.MapGet("/hello", (HttpContext http) =>
    {
        Spiffe.X509.X509Svid mine = source.GetX509Svid();
        return $"hello {http.GetSpiffeId()} from {mine.Id} (your serial {http.Connection.ClientCertificate?.SerialNumber}, mine {mine.Certificate.SerialNumber})";
    }).RequireSpiffeId(clientId); // defence in depth: the endpoint states who it serves

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

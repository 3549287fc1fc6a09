// A gRPC service (Grpc.AspNetCore) on Kestrel with mutual TLS from the Workload API, configured from
// appsettings.json: AddSpiffe() runs the X509Source (SVID picked by Spiffe:X509:Id), the Kestrel
// endpoint "Mtls" admits only Spiffe:Authorization:AllowedIds in the handshake, the greeter carries the
// named policy "Greeter" (Spiffe:Authorization:Policies:Greeter) and reads the caller's ID from
// ServerCallContext.GetSpiffeId().
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Samples;
using Spiffe.WorkloadApi;
using Spiffe.X509;

if (!SampleArguments.TryParse(() => SampleServiceSettings.Parse(args, "Spiffe.Samples.GrpcService", "Greeter"), out SampleServiceSettings? settings))
{
    return 2; // bad or unknown option, already explained on stderr
}

try
{
    // appsettings.json next to the program, then environment variables and --Section:Key options, then
    // this sample's own --id/--client-id/--host/--port (and their SAMPLE_* variables).
    WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddInMemoryCollection(settings.Configuration);
    if (settings.EndpointUrl(builder.Configuration[$"Kestrel:Endpoints:{SampleServiceSettings.EndpointName}:Url"]) is { } url)
    {
        builder.Configuration[$"Kestrel:Endpoints:{SampleServiceSettings.EndpointName}:Url"] = url;
    }

    builder.Services.AddGrpc();
    builder.Services.AddSpiffe();                                               // the X509Source, from SPIFFE_ENDPOINT_SOCKET or Spiffe:WorkloadApi:Address
    builder.Services.AddAuthentication().AddSpiffeX509();                       // the caller = the peer this connection's handshake verified
    builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true);      // the "Greeter" policy from configuration
    builder.WebHost.UseKestrelHttpsConfiguration();
    builder.WebHost.ConfigureKestrel((context, kestrel) => kestrel.Configure(context.Configuration.GetSection("Kestrel"))
        .Endpoint(SampleServiceSettings.EndpointName, endpoint => endpoint.ListenOptions.UseSpiffeMtls())); // HTTP/2 by ALPN; others fail the handshake

    await using WebApplication app = builder.Build();
    app.MapGrpcService<GreeterService>().RequireAuthorization("Greeter");

    if (app.Services.GetRequiredService<IX509SvidSource>() is X509Source source)
    {
        source.Updated += (_, _) => Console.WriteLine($"SVID update: presenting {source.GetX509Svid().Id} serial {source.GetX509Svid().Certificate.SerialNumber}");
    }

    await app.StartAsync(); // waits for the first SVID (Spiffe:StartTimeout) before Kestrel accepts connections
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    X509Svid mine = app.Services.GetRequiredService<IX509SvidSource>().GetX509Svid();
    SpiffeAuthorizationOptions admitted = app.Services.GetRequiredService<IOptions<SpiffeOptions>>().Value.Authorization;
    Console.WriteLine($"listening on {address} as {mine.Id} (serial {mine.Certificate.SerialNumber}); admits only {string.Join(", ", admitted.AllowedIds.Concat(admitted.AllowedTrustDomains))}");
    await app.WaitForShutdownAsync();
    Console.WriteLine("stopped");
    return 0;
}
catch (Exception e) when (e is SpiffeException or OptionsValidationException or InvalidOperationException or IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

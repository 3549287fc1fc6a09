// A minimal API on Kestrel that only one workload may call, configured from appsettings.json:
// AddSpiffe() runs the X509Source (SVID picked by Spiffe:X509:Id, rotating underneath), the Kestrel
// endpoint "Mtls" is a SPIFFE mutual TLS endpoint admitting Spiffe:Authorization:AllowedIds in the
// handshake, and GET /hello carries the named policy "Hello" (Spiffe:Authorization:Policies:Hello),
// checked against the caller that the SpiffeX509 scheme took from the verified handshake.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Files;
using Spiffe.Samples;
using Spiffe.WorkloadApi;
using Spiffe.X509;

if (!SampleArguments.TryParse(() => SampleServiceSettings.Parse(args, "Spiffe.Samples.KestrelService", "Hello"), out SampleServiceSettings? settings))
{
    return 2; // bad or unknown option, already explained on stderr
}

try
{
    // appsettings.json next to the program, then environment variables and --Section:Key options, then
    // this sample's own --id/--client-id/--host/--port/--svid-directory (and their SAMPLE_* variables).
    WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddInMemoryCollection(settings.Configuration);
    if (settings.EndpointUrl(builder.Configuration[$"Kestrel:Endpoints:{SampleServiceSettings.EndpointName}:Url"]) is { } url)
    {
        builder.Configuration[$"Kestrel:Endpoints:{SampleServiceSettings.EndpointName}:Url"] = url;
    }

    // SPIFFE_ENDPOINT_SOCKET (or Spiffe:WorkloadApi:Address) says where the agent is. Spiffe:Files:Directory
    // (SAMPLE_SVID_DIRECTORY) instead reads tls.crt, tls.key and ca.crt from a directory (cert-manager's
    // csi-driver-spiffe volume, samples/kubernetes/variants) and follows their rotation.
    builder.Services.AddSpiffe();
    builder.Services.AddAuthentication().AddSpiffeX509();                        // the caller = the peer this connection's handshake verified
    builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true);       // the "Hello" policy from configuration; no policy, no access
    builder.WebHost.UseKestrelHttpsConfiguration();                             // https:// endpoints from configuration (slim builder)
    builder.WebHost.ConfigureKestrel((context, kestrel) => kestrel.Configure(context.Configuration.GetSection("Kestrel"))
        .Endpoint(SampleServiceSettings.EndpointName, endpoint => endpoint.ListenOptions.UseSpiffeMtls())); // anyone else fails the handshake

    await using WebApplication app = builder.Build();
    app.MapGet("/hello", (HttpContext http, IX509SvidSource source) =>
    {
        X509Svid mine = source.GetX509Svid();
        string? yours = http.Features.Get<ISpiffePeerFeature>()?.Certificate.SerialNumber; // the leaf the handshake verified
        return $"hello {http.GetSpiffeId()} from {mine.Id} (your serial {yours}, mine {mine.Certificate.SerialNumber})";
    }).RequireAuthorization("Hello"); // defence in depth: the endpoint states who it serves

    IX509SvidSource svids = app.Services.GetRequiredService<IX509SvidSource>();
    void PrintUpdate() => Console.WriteLine($"SVID update: presenting {svids.GetX509Svid().Id} serial {svids.GetX509Svid().Certificate.SerialNumber}");
    switch (svids)
    {
        case X509Source workloadApi:
            workloadApi.Updated += (_, _) => PrintUpdate();
            break;
        case FileX509Source files:
            files.Updated += (_, _) => PrintUpdate();
            break;
    }

    await app.StartAsync(); // waits for the first SVID (Spiffe:StartTimeout) before Kestrel accepts connections
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    SpiffeAuthorizationOptions admitted = app.Services.GetRequiredService<IOptions<SpiffeOptions>>().Value.Authorization;
    Console.WriteLine($"listening on {address} as {svids.GetX509Svid().Id} (serial {svids.GetX509Svid().Certificate.SerialNumber}); admits only {string.Join(", ", admitted.AllowedIds.Concat(admitted.AllowedTrustDomains))}");
    await app.WaitForShutdownAsync();
    Console.WriteLine("stopped");
    return 0;
}
catch (Exception e) when (e is SpiffeException or OptionsValidationException or InvalidOperationException or IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

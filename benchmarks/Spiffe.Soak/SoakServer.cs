using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Soak;

/// <summary>
/// The measured process: an X509Source on the agent and Kestrel with <c>UseSpiffeMtls</c>, nothing
/// else. It prints <c>LISTENING port</c>, then one <c>SAMPLE</c> line per line read from standard
/// input, and stops when its standard input closes (the soak ended or died).
/// </summary>
internal static class SoakServer
{
    public const string Role = "--server";

    public static async Task<int> RunAsync(string agentAddress, SpiffeId ownId, SpiffeId clientId)
    {
        var options = new X509SourceOptions
        {
            ClientOptions = new WorkloadApiClientOptions { Address = agentAddress },
            Picker = svids => svids.FirstOrDefault(s => s.Id == ownId)!, // no SVID of ours: the update is discarded
            StartTimeout = TimeSpan.FromMinutes(2), // the machine may be busy with other work
        };
        await using X509Source source = await X509Source.CreateAsync(options);
        long updates = 0, requests = 0;
        source.Updated += (_, _) => Interlocked.Increment(ref updates);

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Exact(clientId))));
        await using WebApplication app = builder.Build();
        app.MapGet("/hello", (HttpContext http) =>
        {
            Interlocked.Increment(ref requests);
            X509Svid mine = source.GetX509Svid();
            return $"{http.GetSpiffeId()} {mine.Certificate.SerialNumber}";
        });
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Console.WriteLine($"LISTENING {new Uri(address).Port}");

        // The soak asks for a sample by writing a line; end of input means stop.
        var clock = Stopwatch.StartNew();
        while (await Console.In.ReadLineAsync() is not null)
        {
            // Resident memory and descriptors first, as the process has them; then the managed heap
            // after a full blocking collection (what the heap retains, not what awaits collection).
            ProcessMemory memory = ProcessMemory.Read();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long heap = GC.GetTotalMemory(forceFullCollection: true);
            (long nativeInUse, long nativeFree) = NativeHeap.Read(); // after the collection: finalized certificates have freed theirs
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"SAMPLE {clock.ElapsedMilliseconds} {memory.RssKiB} {memory.Threads} {memory.Descriptors} {heap} {GC.CollectionCount(2)} {Interlocked.Read(ref requests)} {Interlocked.Read(ref updates)} {nativeInUse} {nativeFree}"));
        }

        await app.StopAsync();
        return 0;
    }
}

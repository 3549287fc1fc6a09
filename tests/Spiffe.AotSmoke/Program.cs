// Native AOT smoke test: one process that takes its identity from the Workload API
// (SPIFFE_ENDPOINT_SOCKET, e.g. `spiffe dev-agent`), serves HTTPS on Kestrel with UseSpiffeMtls and
// calls itself over SpiffeHttpHandler, each side admitting only its own SPIFFE ID. Prints one
// "aot-smoke: ok ..." line with the time from launch to the first served mTLS request and the RSS,
// then exits 0; any failure exits 1 with the reason.
//
// Launch time: the launcher may pass its clock (Unix epoch, nanoseconds) in SPIFFE_SMOKE_LAUNCH_NS
// (`SPIFFE_SMOKE_LAUNCH_NS=$(date +%s%N) ./Spiffe.AotSmoke`); otherwise the process start time is used.
// With --idle-ms N the process stays idle that long after the round trip before reading its RSS.
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
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

DateTime launched = LaunchTime();
int idleMs = args is ["--idle-ms", var ms] ? int.Parse(ms, CultureInfo.InvariantCulture) : 0;
using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));

try
{
    // As AddSpiffe() does: the source starts fetching at once and the host is built meanwhile; Kestrel
    // starts accepting only once the first SVID is there.
    await using X509Source source = X509Source.Create();
    var svidArrived = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
    source.Updated += (_, _) => svidArrived.TrySetResult(DateTime.UtcNow);
    SpiffeIdAuthorizer onlySelf = SpiffeIdAuthorizer.Matching(id => id == source.GetX509Svid().Id, "this process's own SPIFFE ID");

    WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseSpiffeMtls(source, onlySelf)));
    await using WebApplication app = builder.Build();

    await source.WaitUntilReadyAsync(TimeSpan.FromSeconds(30), deadline.Token);
    DateTime svidReady = svidArrived.Task.IsCompleted ? svidArrived.Task.Result : DateTime.UtcNow;
    SpiffeId self = source.GetX509Svid().Id;

    var firstServed = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
    app.MapGet("/", (HttpContext http) =>
    {
        firstServed.TrySetResult(DateTime.UtcNow);
        return http.GetSpiffeId().ToString();
    });
    await app.StartAsync(deadline.Token);
    DateTime listening = DateTime.UtcNow;
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

    using var http = new HttpClient(new SpiffeHttpHandler(source, source, onlySelf)) { BaseAddress = new Uri(address) };
    string answer = await http.GetStringAsync(new Uri("/", UriKind.Relative), deadline.Token);
    DateTime served = await firstServed.Task;
    if (answer != self.ToString())
    {
        throw new InvalidOperationException($"the server saw the caller as '{answer}', expected {self}");
    }

    // The Workload API client on its own: one unary-style fetch of the X.509 bundles.
    await using WorkloadApiClient client = WorkloadApiClient.Create();
    var bundles = await client.FetchX509BundlesAsync(deadline.Token);
    if (!bundles.TryGet(self.TrustDomain, out _))
    {
        throw new InvalidOperationException($"the Workload API returned no X.509 bundle for {self.TrustDomain}");
    }

    if (idleMs > 0)
    {
        await Task.Delay(idleMs, deadline.Token); // the measurement is of an idle process
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"aot-smoke: ok id={self} first_mtls_request_ms={(served - launched).TotalMilliseconds:0} (svid_ms={(svidReady - launched).TotalMilliseconds:0} listening_ms={(listening - launched).TotalMilliseconds:0}) rss_mb={ResidentMegabytes():0.0} native_aot={System.Runtime.JitInfo.GetCompiledMethodCount() == 0}"));
    await app.StopAsync(deadline.Token);
    return 0;
}
catch (Exception e) when (e is SpiffeException or InvalidOperationException or IOException or HttpRequestException or OperationCanceledException)
{
    Console.Error.WriteLine($"aot-smoke: FAILED {e.GetType().Name}: {e.Message}");
    return 1;
}

static DateTime LaunchTime()
{
    if (long.TryParse(Environment.GetEnvironmentVariable("SPIFFE_SMOKE_LAUNCH_NS"), NumberStyles.None, CultureInfo.InvariantCulture, out long ns))
    {
        return DateTime.UnixEpoch.AddTicks(ns / 100);
    }

    using var self = Process.GetCurrentProcess();
    return self.StartTime.ToUniversalTime();
}

static double ResidentMegabytes()
{
    // VmRSS from /proc (Linux); Process.WorkingSet64 reads the same value.
    using var self = Process.GetCurrentProcess();
    return self.WorkingSet64 / (1024.0 * 1024.0);
}

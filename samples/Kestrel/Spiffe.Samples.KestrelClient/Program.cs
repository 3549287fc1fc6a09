// Calls the Kestrel sample service over mutual TLS: an HttpClient on SpiffeHttpHandler presents this
// workload's current SVID and accepts the server only if its SPIFFE ID is the expected one. Prints
// each answer with this workload's serial, so rotations show up; exits non-zero if any call failed.
using Spiffe;
using Spiffe.Samples;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

if (!SampleArguments.TryParse(() => SampleClientSettings.Parse(args, "Spiffe.Samples.KestrelClient"), out SampleClientSettings? settings))
{
    return 2; // bad or unknown option, already explained on stderr
}

(SpiffeId ownId, SpiffeId serverId, Uri address, int count, TimeSpan interval) = settings;
using var shutdown = new SampleShutdown();
CancellationToken stopping = shutdown.Token;

int succeeded = 0, failed = 0, calls = 0;
try
{
    // SPIFFE_ENDPOINT_SOCKET says where the agent is. SAMPLE_SVID_DIRECTORY instead reads tls.crt, tls.key and
    // ca.crt from a directory (cert-manager's csi-driver-spiffe volume, samples/kubernetes/variants) and follows
    // their rotation; the files hold one identity, so --id is not used to pick it.
    string? svidDirectory = Environment.GetEnvironmentVariable("SAMPLE_SVID_DIRECTORY");
    await using IAsyncDisposable owner = string.IsNullOrEmpty(svidDirectory)
        ? await SampleIdentity.OpenAsync(ownId, stopping)
        : await Spiffe.Files.FileX509Source.CreateAsync(new Spiffe.Files.FileX509SourceOptions { Directory = svidDirectory }, stopping);
    var source = (IX509SvidSource)owner;
    var bundles = (Spiffe.Bundles.IX509BundleSetSource)owner;
    Console.WriteLine($"calling {address} as {source.GetX509Svid().Id}; the server must be {serverId}");

    // The one line that matters: rotation, intermediates and the server's ID check live in the handler.
    using var http = new HttpClient(new SpiffeHttpHandler(source, bundles, SpiffeIdAuthorizer.Exact(serverId)))
    {
        BaseAddress = address,
        Timeout = TimeSpan.FromSeconds(10),
    };

    using var pace = new PeriodicTimer(interval);
    do
    {
        calls++;
        X509Svid mine = source.GetX509Svid();
        try
        {
            string answer = await http.GetStringAsync(new Uri("/hello", UriKind.Relative), stopping);
            succeeded++;
            Console.WriteLine($"#{calls} {answer} [client serial {mine.Certificate.SerialNumber}]");
        }
        catch (HttpRequestException e)
        {
            failed++;
            Console.Error.WriteLine(
                $"#{calls} call to {address} FAILED as {mine.Id}: {e.Message}"); // the SDK's message says which side refused and why
        }
        catch (TaskCanceledException) when (!shutdown.IsRequested)
        {
            failed++;
            Console.Error.WriteLine($"#{calls} call to {address} FAILED: no answer within {http.Timeout.TotalSeconds:0} s");
        }
    }
    while ((count == 0 || calls < count) && await pace.WaitForNextTickAsync(stopping));
}
catch (OperationCanceledException) when (shutdown.IsRequested)
{
    // stopped by a signal: report below
}
catch (Exception e) when (e is SpiffeException or InvalidOperationException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

Console.WriteLine($"{succeeded}/{calls} calls succeeded, {failed} failed");
return failed == 0 ? 0 : 1;

// Calls the Kestrel sample service over mutual TLS: an HttpClient on SpiffeHttpHandler presents this
// workload's current SVID and accepts the server only if its SPIFFE ID is the expected one. Prints
// each answer with this workload's serial, so rotations show up; exits non-zero if any call failed.
using System.Runtime.InteropServices;
using Spiffe;
using Spiffe.Samples;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

const string Usage = "Spiffe.Samples.KestrelClient [--id spiffe://example.org/frontend] [--server-id spiffe://example.org/backend] [--address https://localhost:8443] [--count 0 (until stopped)] [--interval-ms 1000]";

SpiffeId ownId, serverId;
Uri address;
int count, intervalMs;
try
{
    SampleArguments arguments = SampleArguments.Parse(args);
    ownId = arguments.GetSpiffeId("--id", "SAMPLE_SPIFFE_ID", "spiffe://example.org/frontend");
    serverId = arguments.GetSpiffeId("--server-id", "SAMPLE_SERVER_ID", "spiffe://example.org/backend");
    string addressText = arguments.Get("--address", "SAMPLE_SERVER_ADDRESS", "https://localhost:8443");
    address = Uri.TryCreate(addressText, UriKind.Absolute, out Uri? parsed) && parsed.Scheme == Uri.UriSchemeHttps
        ? parsed
        : throw new ArgumentException($"--address (SAMPLE_SERVER_ADDRESS): '{addressText}' is not an https:// URL.");
    count = arguments.GetInt32("--count", "SAMPLE_COUNT", 0, 0, int.MaxValue);
    intervalMs = arguments.GetInt32("--interval-ms", "SAMPLE_INTERVAL_MS", 1000, 1, 3_600_000);
    arguments.ThrowIfUnknownOptions(Usage);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

// Ctrl-C and SIGTERM (kubectl delete) end the loop cleanly.
using var stop = new CancellationTokenSource();
using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

int succeeded = 0, failed = 0, calls = 0;
try
{
    await using X509Source source = await SampleIdentity.OpenAsync(ownId, stop.Token);
    Console.WriteLine($"calling {address} as {ownId}; the server must be {serverId}");

    // The one line that matters: rotation, intermediates and the server's ID check live in the handler.
    using var http = new HttpClient(new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(serverId)))
    {
        BaseAddress = address,
        Timeout = TimeSpan.FromSeconds(10),
    };

    using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(intervalMs));
    do
    {
        calls++;
        X509Svid mine = source.GetX509Svid();
        try
        {
            string answer = await http.GetStringAsync(new Uri("/hello", UriKind.Relative), stop.Token);
            succeeded++;
            Console.WriteLine($"#{calls} {answer} [client serial {mine.Certificate.SerialNumber}]");
        }
        catch (HttpRequestException e)
        {
            failed++;
            Console.Error.WriteLine(
                $"#{calls} call to {address} FAILED as {ownId}: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")} " +
                $"(refused: either the service does not admit {ownId}, or the server is not {serverId})");
        }
        catch (TaskCanceledException) when (!stop.IsCancellationRequested)
        {
            failed++;
            Console.Error.WriteLine($"#{calls} call to {address} FAILED: no answer within {http.Timeout.TotalSeconds:0} s");
        }
    }
    while ((count == 0 || calls < count) && await pace.WaitForNextTickAsync(stop.Token));
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
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

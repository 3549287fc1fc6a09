// Calls the gRPC sample service over mutual TLS: a GrpcChannel whose HttpHandler is SpiffeHttpHandler
// presents this workload's current SVID and accepts the server only if its SPIFFE ID is the expected
// one. Prints each reply with both serials; exits non-zero if any call failed.
using System.Runtime.InteropServices;
using Grpc.Core;
using Grpc.Net.Client;
using Spiffe;
using Spiffe.Samples;
using Spiffe.Samples.Greeter;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

const string Usage = "Spiffe.Samples.GrpcClient [--id spiffe://example.org/frontend] [--server-id spiffe://example.org/backend] [--address https://localhost:8443] [--count 0 (until stopped)] [--interval-ms 1000]";

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

    // The documented one-liner: the channel's HTTP/2 connections are mutual TLS with rotating SVIDs.
    using GrpcChannel channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(serverId)) });
    var greeter = new Greeter.GreeterClient(channel);

    using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(intervalMs));
    do
    {
        calls++;
        X509Svid mine = source.GetX509Svid();
        try
        {
            HelloReply reply = await greeter.SayHelloAsync(
                new HelloRequest { Name = $"call #{calls}" },
                deadline: DateTime.UtcNow.AddSeconds(10),
                cancellationToken: stop.Token);
            succeeded++;
            Console.WriteLine($"#{calls} {reply.Message} (server {reply.ServerId} serial {reply.ServerSerial}; caller serial {reply.CallerSerial}, client's current {mine.Certificate.SerialNumber})");
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !stop.IsCancellationRequested)
        {
            failed++;
            Console.Error.WriteLine(
                $"#{calls} call to {address} FAILED as {ownId}: {e.StatusCode} {e.Status.Detail} " +
                $"(refused: either the service does not admit {ownId}, or the server is not {serverId})");
        }
    }
    while ((count == 0 || calls < count) && await pace.WaitForNextTickAsync(stop.Token));
}
catch (Exception e) when (e is OperationCanceledException or RpcException && stop.IsCancellationRequested)
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

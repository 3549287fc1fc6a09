// Calls the gRPC sample service over mutual TLS: a GrpcChannel whose HttpHandler is SpiffeHttpHandler
// presents this workload's current SVID and accepts the server only if its SPIFFE ID is the expected
// one. Prints each reply with both serials; exits non-zero if any call failed.
using Grpc.Core;
using Grpc.Net.Client;
using Spiffe;
using Spiffe.Samples;
using Spiffe.Samples.Greeter;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

if (!SampleArguments.TryParse(() => SampleClientSettings.Parse(args, "Spiffe.Samples.GrpcClient"), out SampleClientSettings? settings))
{
    return 2; // bad or unknown option, already explained on stderr
}

(SpiffeId ownId, SpiffeId serverId, Uri address, int count, TimeSpan interval) = settings;
using var shutdown = new SampleShutdown();
CancellationToken stopping = shutdown.Token;

int succeeded = 0, failed = 0, calls = 0;
try
{
    await using X509Source source = await SampleIdentity.OpenAsync(ownId, stopping);
    Console.WriteLine($"calling {address} as {ownId}; the server must be {serverId}");

    // The documented one-liner: the channel's HTTP/2 connections are mutual TLS with rotating SVIDs.
    using GrpcChannel channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(serverId)) });
    var greeter = new Greeter.GreeterClient(channel);

    using var pace = new PeriodicTimer(interval);
    do
    {
        calls++;
        X509Svid mine = source.GetX509Svid();
        try
        {
            HelloReply reply = await greeter.SayHelloAsync(
                new HelloRequest { Name = $"call #{calls}" },
                deadline: DateTime.UtcNow.AddSeconds(10),
                cancellationToken: stopping);
            succeeded++;
            Console.WriteLine($"#{calls} {reply.Message} (server {reply.ServerId} serial {reply.ServerSerial}; caller serial {reply.CallerSerial}, client's current {mine.Certificate.SerialNumber})");
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !shutdown.IsRequested)
        {
            failed++;
            // The detail carries the SDK's explanation: which side refused, and why.
            Console.Error.WriteLine($"#{calls} call to {address} FAILED as {ownId}: {e.StatusCode} {e.Status.Detail}");
        }
    }
    while ((count == 0 || calls < count) && await pace.WaitForNextTickAsync(stopping));
}
catch (Exception e) when (e is OperationCanceledException or RpcException && shutdown.IsRequested)
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

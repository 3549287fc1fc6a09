using Grpc.Core;
using Spiffe.AspNetCore;
using Spiffe.Samples.Greeter;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Samples;

/// <summary>Greets the caller by the SPIFFE ID it proved in the mutual TLS handshake.</summary>
internal sealed class GreeterService(X509Source source) : Greeter.Greeter.GreeterBase
{
    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
    {
        // Only callers the connection authorizer admitted get this far; their ID rides on the connection.
        SpiffeId caller = context.GetSpiffeId();
        X509Svid mine = source.GetX509Svid();
        return Task.FromResult(new HelloReply
        {
            Message = $"hello {request.Name}, you are {caller}",
            CallerId = caller.ToString(),
            ServerId = mine.Id.ToString(),
            CallerSerial = context.GetHttpContext().Connection.ClientCertificate?.SerialNumber ?? "",
            ServerSerial = mine.Certificate.SerialNumber,
        });
    }
}

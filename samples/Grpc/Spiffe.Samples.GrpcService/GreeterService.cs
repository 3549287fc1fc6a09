using Grpc.Core;
using Spiffe.AspNetCore;
using Spiffe.Samples.Greeter;
using Spiffe.X509;

namespace Spiffe.Samples;

/// <summary>Greets the caller by the SPIFFE ID it proved in the mutual TLS handshake.</summary>
/// <remarks>The source is the one <c>AddSpiffe()</c> registered: the Workload API's X509Source.</remarks>
internal sealed class GreeterService(IX509SvidSource source) : Greeter.Greeter.GreeterBase
{
    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
    {
        // Only callers the connection authorizer admitted and the "Greeter" policy allowed get this far;
        // their ID rides on the connection, recorded by the handshake that verified it.
        SpiffeId caller = context.GetSpiffeId();
        X509Svid mine = source.GetX509Svid();
        return Task.FromResult(new HelloReply
        {
            Message = $"hello {request.Name}, you are {caller}",
            CallerId = caller.ToString(),
            ServerId = mine.Id.ToString(),
            CallerSerial = context.GetHttpContext().Features.Get<ISpiffePeerFeature>()?.Certificate.SerialNumber ?? "",
            ServerSerial = mine.Certificate.SerialNumber,
        });
    }
}

using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Spiffe.AspNetCore;
using Spiffe.Samples.Greeter;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/grpc.md. Compiled only; the gRPC paths are exercised by tests/Spiffe.AspNetCore.Grpc.Tests.</summary>
internal static class GrpcExamples
{
    public static async Task ChannelAsync(X509Source source)
    {
        // <snippet:grpc-channel>
        var backend = SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/backend"));
        using var channel = GrpcChannel.ForAddress("https://backend.example.org:8443", new GrpcChannelOptions
        {
            HttpHandler = new SpiffeHttpHandler(source, source, backend),
        });
        var client = new Greeter.GreeterClient(channel);
        HelloReply reply = await client.SayHelloAsync(new HelloRequest { Name = "frontend" });
        // </snippet>
        _ = reply;
    }

    public static void ClientFactory(IServiceCollection services, SpiffeIdAuthorizer backend)
    {
        // <snippet:grpc-client-factory>
        services.AddGrpcClient<Greeter.GreeterClient>(o => o.Address = new Uri("https://backend.example.org:8443"))
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), backend);
        // </snippet>
    }

    public static void Server(string[] args)
    {
        // <snippet:grpc-server>
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddSpiffe();
        builder.Services.AddGrpc();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(8443, listen =>
            listen.UseSpiffeMtls(SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/frontend")))));
        var app = builder.Build();
        app.MapGrpcService<GreeterService>();
        app.Run();
        // </snippet>
    }

    public static void ServerPolicies(WebApplication app)
    {
        // <snippet:grpc-server-policy>
        app.MapGrpcService<GreeterService>().RequireAuthorization("frontend");
        // </snippet>
    }
}

// <snippet:grpc-service>
internal sealed class GreeterService : Greeter.GreeterBase
{
    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
    {
        SpiffeId caller = context.GetSpiffeId();   // verified in this connection's mTLS handshake
        return Task.FromResult(new HelloReply { Message = $"hello {request.Name}", CallerId = caller.ToString() });
    }
}
// </snippet>

using System.Net;
using System.Security.Authentication;
using System.Text;
using System.Threading.Channels;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore.Grpc.Tests;

/// <summary>
/// gRPC end to end over SPIFFE mutual TLS: a real Workload API (gRPC over a Unix socket) issues the
/// SVIDs of a backend, a frontend and an intruder to three <see cref="X509Source"/>s; the backend
/// is real Kestrel on 127.0.0.1 with <c>UseSpiffeMtls</c> hosting a small gRPC service, and callers
/// use Grpc.Net.Client on <see cref="SpiffeHttpHandler"/>.
/// </summary>
public sealed partial class GrpcSpiffeTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private static readonly TrustDomain s_domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_backendId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_frontendId = SpiffeId.Parse("spiffe://example.org/frontend");
    private static readonly SpiffeId s_intruderId = SpiffeId.Parse("spiffe://example.org/intruder");

    private readonly ProbeService _service = new();
    private readonly TaskCompletionSource _slowStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _slowRelease = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TestCertificateAuthority _ca = null!;
    private WorkloadApiServer _agent = null!;
    private X509Source _backend = null!;
    private X509Source _frontend = null!;
    private X509Source _intruder = null!;
    private WebApplication _app = null!;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _ca = TestCertificateAuthority.Create(s_domain, new() { WithIntermediate = true });
        _agent = await WorkloadApiServer.StartAsync();
        IssueSvids();
        _backend = await CreateSourceAsync("backend");
        _frontend = await CreateSourceAsync("frontend");
        _intruder = await CreateSourceAsync("intruder");

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_service);
        builder.Services.AddSingleton<IServiceMethodProvider<ProbeService>, ProbeMethodProvider>();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.UseSpiffeMtls(_backend, SpiffeIdAuthorizer.Exact(s_frontendId))));
        _app = builder.Build();
        _app.MapGrpcService<ProbeService>();
        _app.MapGet("/whoami", (HttpContext context) => context.GetSpiffeId().ToString());
        _app.MapGet("/connection", (HttpContext context) => context.Connection.Id);
        _app.MapGet("/slow", async (HttpContext context) =>
        {
            _slowStarted.TrySetResult();
            await _slowRelease.Task;
            return context.GetSpiffeId().ToString();
        });
        await _app.StartAsync();
        _address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _intruder.DisposeAsync();
        await _frontend.DisposeAsync();
        await _backend.DisposeAsync();
        await _agent.DisposeAsync();
        _ca.Dispose();
    }

    [Fact]
    public async Task GrpcChannel_AuthorizedClient_ServiceSeesCallerSpiffeId()
    {
        X509Source source = _frontend;
        SpiffeIdAuthorizer backend = SpiffeIdAuthorizer.Exact(s_backendId);
        // The README's one-liner, verbatim.
        using var channel = GrpcChannel.ForAddress(_address, new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(source, source, backend) });
        var client = new ProbeClient(channel);

        CallerView view = await client.WhoAmIAsync();

        Assert.Equal(s_frontendId.ToString(), view.CallerId);
        Assert.Equal(Serial(_frontend), view.CallerSerial);
        Assert.Equal(Serial(_backend), view.ServerSerial);
    }

    [Fact]
    public async Task GrpcChannel_ClientIdNotAuthorized_FailsWithHandshakeCause()
    {
        using var channel = GrpcChannel.ForAddress(_address, new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(_intruder, _intruder, SpiffeIdAuthorizer.Exact(s_backendId)) });
        var client = new ProbeClient(channel);

        RpcException thrown = await Assert.ThrowsAsync<RpcException>(() => client.WhoAmIAsync());

        AssertRefusedByServer(thrown, s_intruderId);
        Assert.Equal(0, _service.Calls);
    }

    // Grpc.Net.Client maps a certificate the client itself rejected (AuthenticationException from
    // SslStream) to Internal, not Unavailable, as for any TLS validation failure without the SDK
    // (grpc-dotnet#1342); Internal is also not retried by default, which suits a trust decision.
    [Fact]
    public async Task GrpcChannel_ServerIdNotAuthorized_FailsInternalSayingWhy()
    {
        SpiffeId expected = SpiffeId.Parse("spiffe://example.org/other-backend");
        using var channel = GrpcChannel.ForAddress(_address, new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(_frontend, _frontend, SpiffeIdAuthorizer.Exact(expected)) });
        var client = new ProbeClient(channel);

        RpcException thrown = await Assert.ThrowsAsync<RpcException>(() => client.WhoAmIAsync());

        Assert.Equal(StatusCode.Internal, thrown.StatusCode);
        HttpRequestException transport = Assert.IsType<HttpRequestException>(thrown.Status.DebugException);
        Assert.Contains($"the server SPIFFE ID {s_backendId} is not authorized", transport.Message, StringComparison.Ordinal);
        Assert.Contains(Causes(transport), e => e is AuthenticationException);
        Assert.Contains($"the server SPIFFE ID {s_backendId} is not authorized", thrown.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, _service.Calls);
    }

    [Fact]
    public async Task GrpcChannel_BothSidesRotateMidStream_StreamContinuesAndNewCallsPresentNewSerials()
    {
        using var channel = GrpcChannel.ForAddress(_address, new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(_frontend, _frontend, SpiffeIdAuthorizer.Exact(s_backendId)) });
        var client = new ProbeClient(channel);
        string oldClientSerial = Serial(_frontend);
        string oldServerSerial = Serial(_backend);
        CallerView before = await client.WhoAmIAsync();
        Assert.Equal((oldClientSerial, oldServerSerial), (before.CallerSerial, before.ServerSerial));

        using AsyncServerStreamingCall<string> stream = client.Watch(messages: 3);
        CallerView first = await NextAsync(stream);

        // Both sides rotate through the Workload API while the stream is open.
        Task frontendUpdated = _frontend.WaitForUpdateAsync().WaitAsync(s_timeout);
        Task backendUpdated = _backend.WaitForUpdateAsync().WaitAsync(s_timeout);
        IssueSvids();
        await Task.WhenAll(frontendUpdated, backendUpdated);
        string newClientSerial = Serial(_frontend);
        string newServerSerial = Serial(_backend);
        Assert.NotEqual(oldClientSerial, newClientSerial);
        Assert.NotEqual(oldServerSerial, newServerSerial);

        CallerView second = await NextAsync(stream);
        var afterRotation = new List<CallerView>();
        for (int i = 0; i < 3; i++)
        {
            afterRotation.Add(await client.WhoAmIAsync());
        }

        CallerView third = await NextAsync(stream);
        Assert.False(await stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.OK, stream.GetStatus().StatusCode);

        // The stream stays on the connection it was opened on, with the old SVIDs of both sides.
        Assert.All([first, second, third], view => Assert.Equal((s_frontendId.ToString(), oldClientSerial, oldServerSerial), (view.CallerId, view.CallerSerial, view.ServerSerial)));

        // Calls after the rotation run on a new connection: both sides present their new SVIDs.
        Assert.All(afterRotation, view => Assert.Equal((s_frontendId.ToString(), newClientSerial, newServerSerial), (view.CallerId, view.CallerSerial, view.ServerSerial)));
    }

    [Fact]
    public async Task GrpcChannel_StreamOutlivesDrainOfRetiredHandler_KeepsStreaming()
    {
        var time = new FakeTimeProvider();
        using var handler = new SpiffeHttpHandler(_frontend, _frontend, SpiffeIdAuthorizer.Exact(s_backendId), new SpiffeHttpHandlerOptions { DrainPeriod = TimeSpan.FromSeconds(5), TimeProvider = time });
        using var channel = GrpcChannel.ForAddress(_address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        var client = new ProbeClient(channel);
        await client.WhoAmIAsync(); // first contact: the handler learns the server's intermediate
        string oldClientSerial = Serial(_frontend);

        using AsyncServerStreamingCall<string> stream = client.Watch(messages: 2);
        Assert.Equal(oldClientSerial, (await NextAsync(stream)).CallerSerial);
        Task updated = _frontend.WaitForUpdateAsync().WaitAsync(s_timeout);
        IssueSvids();
        await updated;
        Assert.Equal(Serial(_frontend), (await client.WhoAmIAsync()).CallerSerial); // retires the stream's handler

        // The drain period passes while only the stream's response body is running on the retired handler.
        int disposedBefore = handler.HandlersDisposed;
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, handler.RetiredCount); // every retired handler, the stream's included, is disposed

        // HTTP/2: disposing the handler closes its connection only after the open stream ends.
        Assert.Equal(oldClientSerial, (await NextAsync(stream)).CallerSerial);
        Assert.False(await stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.OK, stream.GetStatus().StatusCode);
        Assert.True(handler.HandlersDisposed > disposedBefore, $"disposed {handler.HandlersDisposed}");
    }

    private async Task<CallerView> NextAsync(AsyncServerStreamingCall<string> stream)
    {
        _service.ReleaseOne();
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(s_timeout));
        return CallerView.Parse(stream.ResponseStream.Current);
    }

    // The server rejected the caller's certificate. The server validates the client certificate
    // after its TLS handshake has completed, so the client only sees the connection close before
    // the HTTP/2 handshake completes. SocketsHttpHandler reports that close in three shapes (measured
    // over 200 attempts: 94% HttpIOException, 4% IOException over a disposed SslStream, 2% a bare
    // HttpRequestException, which Grpc.Net.Client alone maps to Internal); SpiffeHttpHandler names
    // the likely cause and wraps it in an IOException, so the status is Unavailable every time.
    internal static void AssertRefusedByServer(RpcException thrown, SpiffeId presented)
    {
        HttpRequestException transport = Assert.IsType<HttpRequestException>(thrown.Status.DebugException);
        Exception[] causes = [.. Causes(transport)];
        string chain = string.Join(" <- ", causes.Select(e => $"{e.GetType().Name}: {e.Message}"));
        Assert.True(thrown.StatusCode == StatusCode.Unavailable, $"{thrown.StatusCode}: {chain}");
        Assert.Equal(HttpRequestError.SecureConnectionError, transport.HttpRequestError);
        Assert.Contains($"does not allow this workload's SPIFFE ID {presented}", thrown.Status.Detail, StringComparison.Ordinal);
        // The SDK's documented outcome ends here. How SocketsHttpHandler noticed the close (HTTP/2
        // handshake not completed, broken pipe, reset) depends on timing and is not asserted.
        Assert.IsType<IOException>(transport.InnerException);
    }

    private static IEnumerable<Exception> Causes(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    private static string Serial(X509Source source) => source.GetX509Svid().Certificate.GetSerialNumberString();

    // Issues (or rotates) the SVIDs of all three workloads; each source picks its own by hint.
    private void IssueSvids()
    {
        byte[] bundle = _ca.RootCertificate.RawData;
        _agent.SetX509Svids(
        [
            Issue(s_backendId, "backend", bundle),
            Issue(s_frontendId, "frontend", bundle),
            Issue(s_intruderId, "intruder", bundle),
        ]);
    }

    private WorkloadApiX509Svid Issue(SpiffeId id, string hint, byte[] bundle)
    {
        TestX509SvidMaterial material = _ca.CreateX509SvidMaterial(id);
        return new WorkloadApiX509Svid(id.ToString(), material.ChainDer, material.PrivateKeyPkcs8, bundle, hint);
    }

    private async Task<X509Source> CreateSourceAsync(string hint)
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        return await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = _agent.Address }, Hint = hint }, timeout.Token);
    }

    /// <summary>What the service saw: the caller's SPIFFE ID and serial, and the serial of the server certificate on that connection.</summary>
    internal sealed record CallerView(string CallerId, string CallerSerial, string ServerSerial)
    {
        public static CallerView Parse(string text)
        {
            string[] parts = text.Split('|');
            return new CallerView(parts[0], parts[1], parts[2]);
        }

        public static string Describe(ServerCallContext context)
        {
            HttpContext http = context.GetHttpContext();
            string serverSerial = http.Features.Get<ISslStreamFeature>()?.SslStream.LocalCertificate?.GetSerialNumberString() ?? "none";
            return $"{context.GetSpiffeId()}|{http.Connection.ClientCertificate?.GetSerialNumberString() ?? "none"}|{serverSerial}";
        }
    }

    /// <summary>The test service's contract, written by hand: UTF-8 strings on the wire, no .proto.</summary>
    internal static class ProbeMethods
    {
        private static readonly Marshaller<string> s_utf8 = Marshallers.Create(Encoding.UTF8.GetBytes, Encoding.UTF8.GetString);

        public static readonly Method<string, string> WhoAmI = new(MethodType.Unary, "spiffe.test.Probe", "WhoAmI", s_utf8, s_utf8);

        // The request is the number of messages; the service writes one each time the test releases it.
        public static readonly Method<string, string> Watch = new(MethodType.ServerStreaming, "spiffe.test.Probe", "Watch", s_utf8, s_utf8);
    }

    /// <summary>The service: a singleton, so the tests can count calls and release stream messages.</summary>
    internal sealed class ProbeService
    {
        private readonly Channel<bool> _releases = Channel.CreateUnbounded<bool>();
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        /// <summary>Lets an open <c>Watch</c> stream write its next message.</summary>
        public void ReleaseOne() => _releases.Writer.TryWrite(true);

        public Task<string> WhoAmI(string request, ServerCallContext context)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(CallerView.Describe(context));
        }

        public async Task Watch(string request, IServerStreamWriter<string> writer, ServerCallContext context)
        {
            Interlocked.Increment(ref _calls);
            int messages = int.Parse(request, System.Globalization.CultureInfo.InvariantCulture);
            for (int i = 0; i < messages; i++)
            {
                await _releases.Reader.ReadAsync(context.CancellationToken);
                await writer.WriteAsync(CallerView.Describe(context));
            }
        }
    }

    /// <summary>Registers the hand-written methods with Grpc.AspNetCore (what generated code does through BindServiceMethod).</summary>
    internal sealed class ProbeMethodProvider : IServiceMethodProvider<ProbeService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<ProbeService> context)
        {
            context.AddUnaryMethod(ProbeMethods.WhoAmI, [], (service, request, call) => service.WhoAmI(request, call));
            context.AddServerStreamingMethod(ProbeMethods.Watch, [], (service, request, writer, call) => service.Watch(request, writer, call));
        }
    }

    /// <summary>A hand-written client, shaped like a generated one so Grpc.Net.ClientFactory can create it.</summary>
    internal sealed class ProbeClient : ClientBase<ProbeClient>
    {
        public ProbeClient(CallInvoker callInvoker)
            : base(callInvoker)
        {
        }

        public ProbeClient(ChannelBase channel)
            : base(channel)
        {
        }

        private ProbeClient(ClientBaseConfiguration configuration)
            : base(configuration)
        {
        }

        internal async Task<CallerView> WhoAmIAsync() =>
            CallerView.Parse(await CallInvoker.AsyncUnaryCall(ProbeMethods.WhoAmI, null, new CallOptions(deadline: DateTime.UtcNow.Add(s_timeout)), string.Empty));

        internal AsyncServerStreamingCall<string> Watch(int messages) =>
            CallInvoker.AsyncServerStreamingCall(ProbeMethods.Watch, null, new CallOptions(deadline: DateTime.UtcNow.Add(s_timeout)), messages.ToString(System.Globalization.CultureInfo.InvariantCulture));

        protected override ProbeClient NewInstance(ClientBaseConfiguration configuration) => new(configuration);
    }
}

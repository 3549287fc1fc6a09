using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore.Grpc.Tests;

/// <summary>
/// IHttpClientFactory clients (named and gRPC) configured with <c>UseSpiffeMtls</c>, calling the
/// real Kestrel of <see cref="GrpcSpiffeTests"/> with SVIDs from the Workload API.
/// </summary>
public sealed partial class GrpcSpiffeTests
{
    [Fact]
    public async Task HttpClientBuilderUseSpiffeMtls_NamedClient_ServerSeesClientSpiffeId()
    {
        await using ServiceProvider services = Services(SpiffeIdAuthorizer.Exact(s_backendId));
        HttpClient http = services.GetRequiredService<IHttpClientFactory>().CreateClient("backend");

        Assert.Equal(s_frontendId.ToString(), await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
    }

    [Fact]
    public async Task HttpClientBuilderUseSpiffeMtls_ManyClients_ShareOnePrimaryHandlerAndConnection()
    {
        await using ServiceProvider services = Services(SpiffeIdAuthorizer.Exact(s_backendId));
        var factory = services.GetRequiredService<IHttpClientFactory>();

        // Warm up: after the first handshake SpiffeHttpHandler learns the server's intermediate,
        // which changes its chain policy once and so opens one more connection.
        await factory.CreateClient("backend").GetStringAsync(new Uri("/connection", UriKind.Relative));
        string warm = await factory.CreateClient("backend").GetStringAsync(new Uri("/connection", UriKind.Relative));
        var connections = new HashSet<string>();
        for (int i = 0; i < 10; i++)
        {
            HttpClient http = factory.CreateClient("backend");
            connections.Add(await http.GetStringAsync(new Uri("/connection", UriKind.Relative)));
        }

        // The factory's own rotation is off: SpiffeHttpHandler rotates itself, so the pool (and its TLS connection) is reused.
        Assert.Equal([warm], connections);
        Assert.Equal(Timeout.InfiniteTimeSpan, services.GetRequiredService<IOptionsMonitor<HttpClientFactoryOptions>>().Get("backend").HandlerLifetime);
    }

    [Fact]
    public async Task HttpClientBuilderUseSpiffeMtls_FactoryRotatesPrimaryHandler_InFlightRequestFinishesAndNewHandlerServes()
    {
        var expired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var collection = new ServiceCollection();
        collection.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new EventSignal("HandlerExpired", expired)));
        collection.AddSingleton(_frontend);
        collection.AddHttpClient("backend", http => http.BaseAddress = _address)
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), SpiffeIdAuthorizer.Exact(s_backendId))
            .SetHandlerLifetime(TimeSpan.FromSeconds(1)); // the user turns the factory's rotation back on (1 s is its minimum)
        await using ServiceProvider services = collection.BuildServiceProvider();
        var factory = services.GetRequiredService<IHttpClientFactory>();
        HttpClient before = factory.CreateClient("backend");
        string beforeConnection = await before.GetStringAsync(new Uri("/connection", UriKind.Relative));
        Task<string> slow = before.GetStringAsync(new Uri("/slow", UriKind.Relative));
        await _slowStarted.Task.WaitAsync(s_timeout);

        // The factory's own timer retires the primary handler while the request is running on it.
        await expired.Task.WaitAsync(s_timeout);
        HttpClient after = factory.CreateClient("backend");
        string afterConnection = await after.GetStringAsync(new Uri("/connection", UriKind.Relative));
        _slowRelease.SetResult();

        Assert.NotEqual(beforeConnection, afterConnection); // a new SpiffeHttpHandler, so a new connection pool
        Assert.Equal(s_frontendId.ToString(), await slow.WaitAsync(s_timeout));
        Assert.Equal(s_frontendId.ToString(), await before.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        Assert.Equal(s_frontendId, _frontend.GetX509Svid().Id);
    }

    [Fact]
    public async Task HttpClientBuilderUseSpiffeMtls_WrongServerId_RefusedSayingWhy()
    {
        SpiffeId expected = SpiffeId.Parse("spiffe://example.org/other-backend");
        await using ServiceProvider services = Services(SpiffeIdAuthorizer.Exact(expected));
        HttpClient http = services.GetRequiredService<IHttpClientFactory>().CreateClient("backend");

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));

        Assert.Contains($"the server SPIFFE ID {s_backendId} is not authorized", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(HttpRequestError.SecureConnectionError, thrown.HttpRequestError);
    }

    [Fact]
    public async Task HttpClientBuilderUseSpiffeMtls_ServiceProviderDisposed_SourceStillServes()
    {
        ServiceProvider services = Services(SpiffeIdAuthorizer.Exact(s_backendId));
        HttpClient http = services.GetRequiredService<IHttpClientFactory>().CreateClient("backend");
        Assert.Equal(s_frontendId.ToString(), await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));

        await services.DisposeAsync();

        // The source belongs to whoever created it: it still serves SVIDs and updates, and a new container's clients work.
        Assert.Equal(s_frontendId, _frontend.GetX509Svid().Id);
        Task updated = _frontend.WaitForUpdateAsync().WaitAsync(s_timeout);
        IssueSvids();
        await updated;
        await using ServiceProvider again = Services(SpiffeIdAuthorizer.Exact(s_backendId));
        HttpClient next = again.GetRequiredService<IHttpClientFactory>().CreateClient("backend");
        Assert.Equal(s_frontendId.ToString(), await next.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
    }

    [Fact]
    public async Task HttpClientBuilderUseSpiffeMtls_AddGrpcClient_ServiceSeesCallerSpiffeId()
    {
        var collection = new ServiceCollection();
        collection.AddSingleton(_frontend);
        collection.AddGrpcClient<ProbeClient>(options => options.Address = _address)
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), SpiffeIdAuthorizer.Exact(s_backendId));
        await using ServiceProvider services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        CallerView view = await services.GetRequiredService<ProbeClient>().WhoAmIAsync();

        Assert.Equal(s_frontendId.ToString(), view.CallerId);
        Assert.Equal(Serial(_frontend), view.CallerSerial);
    }

    [Fact]
    public async Task HttpClientBuilderUseSpiffeMtls_AddGrpcClientIntruder_RefusedInHandshake()
    {
        var collection = new ServiceCollection();
        collection.AddSingleton(_intruder);
        collection.AddGrpcClient<ProbeClient>(options => options.Address = _address)
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), SpiffeIdAuthorizer.Exact(s_backendId));
        await using ServiceProvider services = collection.BuildServiceProvider();

        RpcException thrown = await Assert.ThrowsAsync<RpcException>(() => services.GetRequiredService<ProbeClient>().WhoAmIAsync());

        AssertRefusedByServer(thrown, s_intruderId);
        Assert.Equal(0, _service.Calls);
    }

    [Fact]
    public void HttpClientBuilderUseSpiffeMtls_NullArguments_Throw()
    {
        IHttpClientBuilder builder = new ServiceCollection().AddHttpClient("backend");
        SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.Exact(s_backendId);

        Assert.Throws<ArgumentNullException>(() => builder.UseSpiffeMtls(sp => _frontend, null!));
        Assert.Throws<ArgumentNullException>(() => builder.UseSpiffeMtls<X509Source>(null!, authorizer));
        Assert.Throws<ArgumentNullException>(() => builder.UseSpiffeMtls(sp => _frontend, null!, authorizer, new SpiffeHttpHandlerOptions()));
        Assert.Throws<ArgumentNullException>(() => ((IHttpClientBuilder)null!).UseSpiffeMtls(sp => _frontend, authorizer));
    }

    // The documented shape: the application creates the source, registers it, and names the client.
    private ServiceProvider Services(SpiffeIdAuthorizer serverAuthorizer)
    {
        var collection = new ServiceCollection();
        collection.AddSingleton(_frontend);
        collection.AddHttpClient("backend", http => http.BaseAddress = _address)
            .UseSpiffeMtls(sp => sp.GetRequiredService<X509Source>(), serverAuthorizer);
        return collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>Completes a signal when a log event with the given name is written (the factory raises no other event on expiry).</summary>
    private sealed class EventSignal(string eventName, TaskCompletionSource signal) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name == eventName)
            {
                signal.TrySetResult();
            }
        }

        public void Dispose()
        {
        }
    }
}

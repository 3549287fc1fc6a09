using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Spiffe.Conformance.Harness;

/// <summary>
/// The control port: HTTP/1.1 on 127.0.0.1:0, served by a bare <see cref="KestrelServer"/> with no
/// host around it (no configuration, DI container, middleware or console lifetime). Measured: the
/// WebApplication host cost about 170 ms of CPU at start-up; this costs a fraction of it.
/// </summary>
internal sealed class ControlEndpoint(Harness harness, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ILogger _log = loggers.CreateLogger<ControlEndpoint>();
    private KestrelServer? _server;

    public int Port { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = new ServiceCollection().BuildServiceProvider(),
        };
        options.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1);
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggers);
        _server = new KestrelServer(Options.Create(options), transport, loggers);
        await _server.StartAsync(new Application(new ControlApi(harness, _log)), cancellationToken).ConfigureAwait(false);

        string address = _server.Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Port = new Uri(address).Port;
    }

    public async Task StopAsync()
    {
        if (_server is not null)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await Program.BoundedAsync(_server.StopAsync(grace.Token), _log, "the control port").ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _server?.Dispose();
        _server = null;
    }

    private sealed class Application(ControlApi api) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) => api.HandleAsync(context);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }
    }
}

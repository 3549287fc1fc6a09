using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// A real Kestrel on 127.0.0.1 (port 0) configured by the test (e.g. <c>UseSpiffeMtls</c>), with
/// one endpoint, <c>/peer</c>, that answers what the TLS connection carrying the request
/// authenticated: <see cref="PeerReport"/>.
/// </summary>
internal sealed class KestrelTestServer : IAsyncDisposable
{
    private const string ServerSerialKey = "server-serial";

    private readonly WebApplication _app;
    private int _requests;

    private KestrelTestServer(WebApplication app, HandshakeFailureLog handshakeFailures)
    {
        _app = app;
        HandshakeFailures = handshakeFailures;
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>
    /// The <c>/peer</c> endpoint, named <c>localhost</c> (which resolves to the loopback address
    /// Kestrel listens on): with a host name the client sends SNI and .NET caches TLS sessions for
    /// resumption, which it does not do for an IP literal. Tests thereby also cover resumed sessions.
    /// </summary>
    public Uri Peer => new UriBuilder(Address) { Host = "localhost", Path = "/peer" }.Uri;

    /// <summary>The TLS handshakes Kestrel failed.</summary>
    public HandshakeFailureLog HandshakeFailures { get; }

    /// <summary>Requests that reached the endpoint (so passed the TLS handshake).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <param name="configure">The TLS set-up of the endpoint, e.g. <c>listen.UseSpiffeMtls(...)</c>.</param>
    /// <param name="mapEndpoints">More endpoints, besides <c>/peer</c> (runs after Build, before start: it may also read <c>app.Services</c>).</param>
    /// <param name="logs">Another logger provider for the host, at the host's default levels (Information and up).</param>
    /// <param name="configureServices">More services (authentication and authorization are always added, for the endpoint shorthands).</param>
    public static async Task<KestrelTestServer> StartAsync(Action<ListenOptions> configure, Action<WebApplication>? mapEndpoints = null, ILoggerProvider? logs = null, Action<WebApplicationBuilder>? configureServices = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddAuthentication();
        builder.Services.AddAuthorization();
        configureServices?.Invoke(builder);
        var handshakeFailures = new HandshakeFailureLog();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(handshakeFailures);
        builder.Logging.AddFilter<HandshakeFailureLog>("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Debug);
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            configure(listen);
            listen.Use(RecordServerCertificate);
        }));
        WebApplication app = builder.Build();
        var server = new KestrelTestServer(app, handshakeFailures);
        app.MapGet("/peer", server.DescribePeer);
        mapEndpoints?.Invoke(app);
        try
        {
            await app.StartAsync();
            server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            return server;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    // Added after UseSpiffeMtls, so it runs on each connection right after the TLS handshake and
    // records the certificate the server presented in that handshake (the source may have rotated
    // by the time the request reads it).
    private static ConnectionDelegate RecordServerCertificate(ConnectionDelegate next) => connection =>
    {
        SslStream? ssl = connection.Features.Get<ISslStreamFeature>()?.SslStream;
        connection.Items[ServerSerialKey] = ssl?.LocalCertificate?.GetSerialNumberString() ?? "none";
        return next(connection);
    };

    // The serials are those of this request's connection: what its TLS handshake presented on each
    // side, not the sources' current state.
    private string DescribePeer(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        object? serverSerial = context.Features.Get<IConnectionItemsFeature>()?.Items[ServerSerialKey];
        return new PeerReport(
            context.TryGetSpiffeId(out SpiffeId? id) ? id.ToString() : "anonymous",
            context.Connection.ClientCertificate?.GetSerialNumberString() ?? "none",
            serverSerial as string ?? "none",
            context.Request.Protocol).ToString();
    }
}

/// <summary>What the server saw of one request's connection: the caller's SPIFFE ID, the client and server certificate serials, the HTTP version.</summary>
internal sealed record PeerReport(string CallerId, string ClientSerial, string ServerSerial, string Protocol)
{
    public override string ToString() => $"{CallerId} {ClientSerial} {ServerSerial} {Protocol}";

    public static PeerReport Parse(string text)
    {
        string[] parts = text.Split(' ');
        Assert.True(parts.Length == 4, text);
        return new PeerReport(parts[0], parts[1], parts[2], parts[3]);
    }
}

using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Builder;
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
    private readonly WebApplication _app;
    private int _requests;

    private KestrelTestServer(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    /// <summary>
    /// The <c>/peer</c> endpoint, named <c>localhost</c> (which resolves to the loopback address
    /// Kestrel listens on): with a host name the client sends SNI and .NET caches TLS sessions for
    /// resumption, which it does not do for an IP literal. Tests thereby also cover resumed sessions.
    /// </summary>
    public Uri Peer => new UriBuilder(Address) { Host = "localhost", Path = "/peer" }.Uri;

    /// <summary>Requests that reached the endpoint (so passed the TLS handshake).</summary>
    public int Requests => Volatile.Read(ref _requests);

    public static async Task<KestrelTestServer> StartAsync(Action<ListenOptions> configure)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, configure));
        WebApplication app = builder.Build();
        var server = new KestrelTestServer(app);
        app.MapGet("/peer", server.DescribePeer);
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

    // The serials come from this connection's SslStream: the certificate the server presented in
    // its handshake and the one the client presented, not from the sources' current state.
    private string DescribePeer(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        SslStream ssl = context.Features.Get<ISslStreamFeature>()?.SslStream ?? throw new InvalidOperationException("Not a TLS connection.");
        string callerId = context.TryGetSpiffeId(out SpiffeId? id) ? id.ToString() : "anonymous";
        return new PeerReport(
            callerId,
            context.Connection.ClientCertificate?.GetSerialNumberString() ?? "none",
            ssl.LocalCertificate?.GetSerialNumberString() ?? "none",
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
        Assert.Equal(4, parts.Length);
        return new PeerReport(parts[0], parts[1], parts[2], parts[3]);
    }
}

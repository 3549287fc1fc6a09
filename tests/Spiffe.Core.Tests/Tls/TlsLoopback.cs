using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Spiffe.Tls;

namespace Spiffe.Core.Tests.Tls;

/// <summary>One side of a loopback TLS connection as it ended: its error, or what it saw of the peer.</summary>
internal sealed record TlsSide(Exception? Error, SpiffeId? PeerId, string? PeerSerial, SslProtocols Protocol, bool PeerCertificatePresented);

internal sealed record TlsOutcome(TlsSide Server, TlsSide Client)
{
    public bool Succeeded => Server.Error is null && Client.Error is null;
}

/// <summary>
/// Runs one real TLS connection over 127.0.0.1: both handshakes, then one byte each way, so a
/// refusal by the server (which TLS 1.3 reports to the client only after its handshake) reaches
/// the client too. Bounded by a timeout so a hang fails the test instead of blocking it.
/// </summary>
internal static class TlsLoopback
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    internal static Task<TlsOutcome> ConnectAsync(SpiffeTlsServer server, SpiffeTlsClient client, string targetHost = "localhost") =>
        ConnectAsync(
            (ssl, ct) => ssl.AuthenticateAsServerAsync(server.OptionsSelectionCallback, null, ct),
            (ssl, ct) => ssl.AuthenticateAsClientAsync(client.GetOptions(targetHost), ct));

    internal static async Task<TlsOutcome> ConnectAsync(Func<SslStream, CancellationToken, Task> authenticateServer, Func<SslStream, CancellationToken, Task> authenticateClient)
    {
        using var cts = new CancellationTokenSource(s_timeout);
        CancellationToken ct = cts.Token;
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            Task<TlsSide> serverTask = Task.Run(async () =>
            {
                using TcpClient accepted = await listener.AcceptTcpClientAsync(ct);
                return await RunSideAsync(accepted, authenticateServer, isServer: true, ct);
            });
            Task<TlsSide> clientTask = Task.Run(async () =>
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
                return await RunSideAsync(tcp, authenticateClient, isServer: false, ct);
            });
            TlsSide[] sides = await Task.WhenAll(serverTask, clientTask).WaitAsync(s_timeout + TimeSpan.FromSeconds(5));
            Assert.False(cts.IsCancellationRequested, "The TLS exchange did not finish in time (a hang).");
            return new TlsOutcome(sides[0], sides[1]);
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task<TlsSide> RunSideAsync(TcpClient tcp, Func<SslStream, CancellationToken, Task> authenticate, bool isServer, CancellationToken ct)
    {
        await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await authenticate(ssl, ct);
            var buffer = new byte[1];
            if (isServer)
            {
                await ssl.WriteAsync(new byte[] { 1 }, ct);
                await ssl.FlushAsync(ct);
                await ReadOneAsync(ssl, buffer, 2, ct);
            }
            else
            {
                await ReadOneAsync(ssl, buffer, 1, ct);
                await ssl.WriteAsync(new byte[] { 2 }, ct);
                await ssl.FlushAsync(ct);
            }

            ssl.TryGetRemoteSpiffeId(out SpiffeId? peer);
            return new TlsSide(null, peer, ssl.RemoteCertificate?.GetSerialNumberString(), ssl.SslProtocol, ssl.RemoteCertificate is not null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new TlsSide(e, null, null, default, false);
        }
    }

    private static async Task ReadOneAsync(SslStream ssl, byte[] buffer, byte expected, CancellationToken ct)
    {
        int read = await ssl.ReadAsync(buffer, ct);
        if (read != 1 || buffer[0] != expected)
        {
            throw new IOException("The peer closed the connection instead of answering (it refused the handshake).");
        }
    }
}

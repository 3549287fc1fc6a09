using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Spiffe.Tls;

namespace Spiffe.Conformance.Harness;

/// <summary>
/// The X.509 port: TLS 1.2/1.3 on 127.0.0.1, mutual, with the options of an SDK
/// <see cref="SpiffeTlsServer"/> per handshake (current SVID and intermediates; the client's chain
/// checked against its own trust domain's bundle; any ID authorised). On success it writes the
/// client's SPIFFE ID and a newline, then closes; on failure it closes without writing.
/// </summary>
internal sealed class X509Endpoint : IAsyncDisposable
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(10);
    private readonly TcpListener _listener;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private Task? _accepting;
    private bool _stopped;

    public X509Endpoint(ILogger log)
    {
        _log = log;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    /// <summary>Starts handshaking; connections made since the bind wait in the backlog until then.</summary>
    public void Start(SpiffeTlsServer server) => _accepting = AcceptAsync(server);

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_accepting is not null)
        {
            await Program.BoundedAsync(_accepting, _log, "the X.509 listener").ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _listener.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptAsync(SpiffeTlsServer server)
    {
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // one failed accept (e.g. the peer reset first) does not end the listener
            }

            _ = HandleAsync(socket, server, stop);
        }
    }

    private async Task HandleAsync(Socket socket, SpiffeTlsServer server, CancellationToken stop)
    {
        string remote = socket.RemoteEndPoint?.ToString() ?? "?";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(s_handshakeTimeout);
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        await using (stream.ConfigureAwait(false))
        {
            SpiffeId client;
            try
            {
                // The callback asks the SDK for fresh options per handshake: the SVID presented is the current
                // one, and with no SVID (withdrawn) the SDK throws and the handshake fails.
                await stream.AuthenticateAsServerAsync(server.OptionsSelectionCallback, null, timeout.Token).ConfigureAwait(false);
                client = stream.GetRemoteSpiffeId();
            }
            catch (Exception e)
            {
                HarnessLog.HandshakeRefused(_log, remote, Describe(e));
                socket.Close(0); // abort: a reset, nothing written
                return;
            }

            try
            {
                HarnessLog.HandshakeAccepted(_log, remote, client.ToString());
                await stream.WriteAsync(Encoding.UTF8.GetBytes(client + "\n"), timeout.Token).ConfigureAwait(false);
                await stream.ShutdownAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                HarnessLog.HandshakeRefused(_log, remote, "writing the ID: " + Describe(e));
            }
        }
    }

    private static string Describe(Exception e) => e.InnerException is null ? e.Message : $"{e.Message} ({e.InnerException.Message})";
}

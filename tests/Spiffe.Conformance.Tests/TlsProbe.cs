using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Spiffe.Core.Tests.Tls;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Conformance.Tests;

/// <summary>What a TLS client saw on the harness's X.509 port.</summary>
/// <param name="HandshakeCompleted">The client's side of the handshake finished (in TLS 1.3 it can finish before the server has judged the client certificate).</param>
/// <param name="Received">Everything read until the server closed (empty when refused).</param>
/// <param name="ServerCertificate">The leaf the server presented, when the handshake completed.</param>
internal sealed record ProbeResult(bool HandshakeCompleted, string Received, X509Certificate2? ServerCertificate);

/// <summary>Test-side TLS peers built on the SDK: a client for the X.509 port, a server for <c>/v1/x509/dial</c>.</summary>
internal static class TlsProbe
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    /// <summary>Connects to the X.509 port with the given SVID (or none), authenticating the server as an example.org SVID.</summary>
    public static async Task<ProbeResult> ConnectAsync(int port, X509Svid? clientSvid, ConformanceAgent agent)
    {
        var bundles = new MutableBundleSource(agent.Bundle);
        SpiffeTlsClient client = clientSvid is null
            ? SpiffeTlsClient.Tls(bundles, SpiffeIdAuthorizer.Exact(ConformanceAgent.HarnessId), new SpiffeTlsOptions { AllowTlsResume = false })
            : SpiffeTlsClient.MutualTls(new MutableSvidSource(clientSvid), bundles, SpiffeIdAuthorizer.Exact(ConformanceAgent.HarnessId), new SpiffeTlsOptions { AllowTlsResume = false });

        // The probe trusts only the example.org root while the harness's SVID hangs off an intermediate:
        // a completed handshake shows the harness sent its intermediates.
        SslClientAuthenticationOptions options = client.GetOptions("127.0.0.1");

        using var timeout = new CancellationTokenSource(s_timeout);
        using var tcp = new TcpClient(AddressFamily.InterNetwork);
        await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        await using var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await stream.AuthenticateAsClientAsync(options, timeout.Token);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            return new ProbeResult(false, string.Empty, null);
        }

        X509Certificate2 server = X509CertificateLoader.LoadCertificate(stream.RemoteCertificate!.GetRawCertData());
        var received = new MemoryStream();
        var buffer = new byte[256];
        try
        {
            // Bounded: the harness writes one short line; 64 reads of 256 bytes is far more than the contract allows.
            for (int reads = 0; reads < 64; reads++)
            {
                int n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            // The server refused the client certificate after the client's side finished (TLS 1.3).
        }

        return new ProbeResult(true, Encoding.UTF8.GetString(received.ToArray()), server);
    }

    /// <summary>
    /// An SDK mutual-TLS server on 127.0.0.1 presenting <paramref name="svid"/> and trusting
    /// <paramref name="trusted"/> for clients; each accepted connection is handshaken and closed.
    /// Completes <see cref="SdkServer.ClientId"/> with the first client's ID.
    /// </summary>
    public static SdkServer StartServer(X509Svid svid, Bundles.X509Bundle trusted) => new(svid, trusted);

    internal sealed class SdkServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        public SdkServer(X509Svid svid, Bundles.X509Bundle trusted)
        {
            _listener.Start();
            Address = $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
            SpiffeTlsServer server = SpiffeTlsServer.MutualTls(new MutableSvidSource(svid), new MutableBundleSource(trusted), SpiffeIdAuthorizer.Any());
            _serving = ServeAsync(server);
        }

        public string Address { get; }

        public TaskCompletionSource<SpiffeId> ClientId { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private async Task ServeAsync(SpiffeTlsServer server)
        {
            // Bounded: a test dials once or twice.
            for (int i = 0; i < 16 && !_stop.IsCancellationRequested; i++)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(s_timeout);
                await using var stream = new SslStream(new NetworkStream(socket, ownsSocket: true));
                try
                {
                    await stream.AuthenticateAsServerAsync(server.OptionsSelectionCallback, null, timeout.Token);
                    ClientId.TrySetResult(stream.GetRemoteSpiffeId());
                }
                catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
                {
                    // The harness refused us, or we refused it: the dial result says which.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _serving.WaitAsync(TimeSpan.FromSeconds(10));
            _listener.Dispose();
            _stop.Dispose();
        }
    }
}

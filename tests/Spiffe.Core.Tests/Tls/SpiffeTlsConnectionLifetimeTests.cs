using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Core.Tests.Tls;

/// <summary>
/// A TLS connection outlives the SVIDs it was made with: the source releases (disposes) a
/// superseded SVID a rotation later, while Kestrel and HttpClient connections stay open far longer.
/// </summary>
public sealed class SpiffeTlsConnectionLifetimeTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");

    private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
    private readonly MutableBundleSource _bundles;
    private readonly MutableSvidSource _serverSvids;
    private readonly MutableSvidSource _clientSvids;
    private readonly SpiffeTlsServer _server;
    private readonly SpiffeTlsClient _client;

    public SpiffeTlsConnectionLifetimeTests()
    {
        _bundles = new MutableBundleSource(_ca.CreateX509Bundle());
        _serverSvids = new MutableSvidSource(_ca.CreateX509Svid(s_serverId));
        _clientSvids = new MutableSvidSource(_ca.CreateX509Svid(s_clientId));

        // Full handshakes only: a resumed session presents no certificate, so nothing to look at.
        var fullHandshakes = new SpiffeTlsOptions { AllowTlsResume = false };
        _server = SpiffeTlsServer.MutualTls(_serverSvids, _bundles, SpiffeIdAuthorizer.Exact(s_clientId), fullHandshakes);
        _client = SpiffeTlsClient.MutualTls(_clientSvids, _bundles, SpiffeIdAuthorizer.Exact(s_serverId), fullHandshakes);
    }

    public void Dispose()
    {
        _serverSvids.Svid?.Dispose();
        _clientSvids.Svid?.Dispose();
        _ca.Dispose();
    }

    [Fact]
    public async Task Connection_ItsSvidsReleasedByThreeRotations_StillCarriesDataAndShowsItsOwnCertificates()
    {
        await using TlsPair first = await TlsPair.ConnectAsync(_server, _client);
        string serverSerial = _serverSvids.Svid!.Certificate.GetSerialNumberString();
        string clientSerial = _clientSvids.Svid!.Certificate.GetSerialNumberString();

        // Three rotations of both sides, each releasing the SVID it replaces (as X509Source does a
        // rotation later) and proven by a new connection presenting the new SVIDs.
        for (int rotation = 0; rotation < 3; rotation++)
        {
            await RotateBothAndReleaseAsync();
        }

        Assert.Equal(serverSerial, first.Server.LocalCertificate!.GetSerialNumberString());
        Assert.Equal(clientSerial, first.Client.LocalCertificate!.GetSerialNumberString());
        Assert.Equal(serverSerial, first.Client.RemoteCertificate!.GetSerialNumberString());
        Assert.Equal(s_serverId, first.Client.GetRemoteSpiffeId());
        Assert.Equal(s_clientId, first.Server.GetRemoteSpiffeId());
        await first.ExchangeAsync();
    }

    [Fact]
    public async Task Context_SupersededAndItsConnectionsClosed_CertificateCopyIsCollected()
    {
        WeakReference[] copies = await ConnectAndForgetAsync();

        // The cache holds only the current context: two rotations later nothing references the
        // first ones. Bounded: a handful of collections settle finalizer-reachable objects.
        await RotateBothAndReleaseAsync();
        await RotateBothAndReleaseAsync();
        for (int i = 0; i < 5 && copies.Any(c => c.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.All(copies, c => Assert.False(c.IsAlive, "A superseded certificate context is still referenced."));
    }

    [Fact]
    public async Task Context_SameSvid_IsReusedAcrossHandshakes()
    {
        await using TlsPair first = await TlsPair.ConnectAsync(_server, _client);
        await using TlsPair second = await TlsPair.ConnectAsync(_server, _client);

        Assert.Same(first.Server.LocalCertificate, second.Server.LocalCertificate);
        Assert.Same(first.Client.LocalCertificate, second.Client.LocalCertificate);

        // The copy is the context's own, not the source's object (which the source may release).
        Assert.NotSame(_serverSvids.Svid!.Certificate, first.Server.LocalCertificate);
        Assert.Equal(_serverSvids.Svid.Certificate.RawData, first.Server.LocalCertificate!.GetRawCertData());
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task<WeakReference[]> ConnectAndForgetAsync()
    {
        await using TlsPair pair = await TlsPair.ConnectAsync(_server, _client);
        await pair.ExchangeAsync();
        return [new WeakReference(pair.Server.LocalCertificate), new WeakReference(pair.Client.LocalCertificate)];
    }

    private async Task RotateBothAndReleaseAsync()
    {
        X509Svid oldServer = _serverSvids.Svid!;
        X509Svid oldClient = _clientSvids.Svid!;
        _serverSvids.Svid = _ca.CreateX509Svid(s_serverId);
        _clientSvids.Svid = _ca.CreateX509Svid(s_clientId);
        oldServer.Dispose();
        oldClient.Dispose();

        await using TlsPair fresh = await TlsPair.ConnectAsync(_server, _client);
        Assert.Equal(_serverSvids.Svid.Certificate.GetSerialNumberString(), fresh.Client.RemoteCertificate!.GetSerialNumberString());
        Assert.Equal(_clientSvids.Svid.Certificate.GetSerialNumberString(), fresh.Server.RemoteCertificate!.GetSerialNumberString());
    }

    /// <summary>Both ends of one mutual TLS connection over 127.0.0.1, kept open until disposed.</summary>
    private sealed class TlsPair : IAsyncDisposable
    {
        private readonly TcpClient _clientTcp;
        private readonly TcpClient _serverTcp;

        private TlsPair(TcpClient clientTcp, TcpClient serverTcp, SslStream client, SslStream server)
        {
            _clientTcp = clientTcp;
            _serverTcp = serverTcp;
            Client = client;
            Server = server;
        }

        internal SslStream Client { get; }

        internal SslStream Server { get; }

        internal static async Task<TlsPair> ConnectAsync(SpiffeTlsServer server, SpiffeTlsClient client)
        {
            using var cts = new CancellationTokenSource(s_timeout);
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                var clientTcp = new TcpClient();
                Task connect = clientTcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, cts.Token).AsTask();
                TcpClient serverTcp = await listener.AcceptTcpClientAsync(cts.Token);
                await connect;
                var serverSsl = new SslStream(serverTcp.GetStream());
                var clientSsl = new SslStream(clientTcp.GetStream());
                await Task.WhenAll(
                    serverSsl.AuthenticateAsServerAsync(server.OptionsSelectionCallback, null, cts.Token),
                    clientSsl.AuthenticateAsClientAsync(client.GetOptions("localhost"), cts.Token));
                var pair = new TlsPair(clientTcp, serverTcp, clientSsl, serverSsl);
                await pair.ExchangeAsync();
                return pair;
            }
            finally
            {
                listener.Stop();
            }
        }

        /// <summary>One byte each way: TLS 1.3 reports a server's refusal to the client only on read.</summary>
        internal async Task ExchangeAsync()
        {
            using var cts = new CancellationTokenSource(s_timeout);
            var buffer = new byte[1];
            await Server.WriteAsync(new byte[] { 7 }, cts.Token);
            Assert.Equal(1, await Client.ReadAsync(buffer, cts.Token));
            Assert.Equal(7, buffer[0]);
            await Client.WriteAsync(new byte[] { 9 }, cts.Token);
            Assert.Equal(1, await Server.ReadAsync(buffer, cts.Token));
            Assert.Equal(9, buffer[0]);
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            _clientTcp.Dispose();
            _serverTcp.Dispose();
        }
    }
}

using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Benchmarks;

/// <summary>
/// One new-connection mutual TLS handshake over 127.0.0.1 (new TCP connection, both handshakes,
/// close), P-256 SVIDs with one intermediate, bundles holding the root. The baseline is raw
/// SslStream with static options: a fixed SslStreamCertificateContext per side and a
/// CustomRootTrust chain policy, accepting any chain that validates (no SPIFFE checks). The SDK
/// path asks SpiffeTlsServer/SpiffeTlsClient for options per connection (directly, or through the
/// server's selection callback as Kestrel does) and authenticates and authorizes the peer's SPIFFE
/// ID. Resumption is off everywhere, so every handshake is a full one. The last variant is the
/// design the SDK avoids: a second chain built in the validation callback.
/// </summary>
[MemoryDiagnoser]
public class MtlsHandshakeBenchmarks
{
    private TestCertificateAuthority _ca = null!;
    private X509Bundle _bundle = null!;
    private X509Svid _serverSvid = null!;
    private X509Svid _clientSvid = null!;
    private Socket _listener = null!;
    private IPEndPoint _endpoint = null!;
    private SpiffeTlsServer _sdkServer = null!;
    private SpiffeTlsClient _sdkClient = null!;
    private SslServerAuthenticationOptions _rawServer = null!;
    private SslClientAuthenticationOptions _rawClient = null!;
    private SslServerAuthenticationOptions _twoChainServer = null!;
    private SslClientAuthenticationOptions _twoChainClient = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
        _bundle = _ca.CreateX509Bundle();
        _serverSvid = _ca.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/backend"));
        _clientSvid = _ca.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/frontend"));

        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _endpoint = (IPEndPoint)_listener.LocalEndPoint!;

        var noResume = new SpiffeTlsOptions { AllowTlsResume = false };
        _sdkServer = SpiffeTlsServer.MutualTls(new FixedSvid(_serverSvid), _bundle, SpiffeIdAuthorizer.Exact(_clientSvid.Id), noResume);
        _sdkClient = SpiffeTlsClient.MutualTls(new FixedSvid(_clientSvid), _bundle, SpiffeIdAuthorizer.Exact(_serverSvid.Id), noResume);

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(_bundle.X509Authorities[0]);
        _rawServer = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(_serverSvid.Certificate, [.. _serverSvid.Intermediates], offline: true),
            ClientCertificateRequired = true,
            CertificateChainPolicy = policy,
            RemoteCertificateValidationCallback = static (_, _, _, errors) => errors == SslPolicyErrors.None,
            AllowTlsResume = false,
        };
        _rawClient = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificateContext = SslStreamCertificateContext.Create(_clientSvid.Certificate, [.. _clientSvid.Intermediates], offline: true),
            CertificateChainPolicy = policy,
            // SVIDs carry no DNS name: the same single-bit mask as the SDK.
            RemoteCertificateValidationCallback = static (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None,
            AllowTlsResume = false,
        };

        // The design the SDK avoids: SslStream's chain, then a second one in the callback (uncached validator).
        var validator = new X509SvidValidator(_bundle, cacheSize: 0);
        RemoteCertificateValidationCallback secondChain = (_, _, chain, errors) =>
            (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None
            && validator.Validate([.. chain!.ChainElements.Take(chain.ChainElements.Count - 1).Select(e => e.Certificate)]).IsValid;
        _twoChainServer = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _rawServer.ServerCertificateContext,
            ClientCertificateRequired = true,
            CertificateChainPolicy = policy,
            RemoteCertificateValidationCallback = secondChain,
            AllowTlsResume = false,
        };
        _twoChainClient = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificateContext = _rawClient.ClientCertificateContext,
            CertificateChainPolicy = policy,
            RemoteCertificateValidationCallback = secondChain,
            AllowTlsResume = false,
        };

        RawSslStream().GetAwaiter().GetResult();
        SdkOptions().GetAwaiter().GetResult();
        SdkSelectionCallback().GetAwaiter().GetResult();
        SecondChainInCallback().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener.Dispose();
        _serverSvid.Dispose();
        _clientSvid.Dispose();
        _bundle.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw SslStream, static context + CustomRootTrust")]
    public Task RawSslStream() => HandshakeAsync(
        static (ssl, self) => ssl.AuthenticateAsServerAsync(self._rawServer, CancellationToken.None),
        static (ssl, self) => ssl.AuthenticateAsClientAsync(self._rawClient, CancellationToken.None));

    [Benchmark(Description = "SDK GetOptions() per connection (authn + authz)")]
    public Task SdkOptions() => HandshakeAsync(
        static (ssl, self) => ssl.AuthenticateAsServerAsync(self._sdkServer.GetOptions(), CancellationToken.None),
        static (ssl, self) => ssl.AuthenticateAsClientAsync(self._sdkClient.GetOptions("localhost"), CancellationToken.None));

    // The shape Kestrel's TlsHandshakeCallbackOptions uses: options chosen after the ClientHello is read.
    [Benchmark(Description = "SDK OptionsSelectionCallback (authn + authz)")]
    public Task SdkSelectionCallback() => HandshakeAsync(
        static (ssl, self) => ssl.AuthenticateAsServerAsync(self._sdkServer.OptionsSelectionCallback, null, CancellationToken.None),
        static (ssl, self) => ssl.AuthenticateAsClientAsync(self._sdkClient.GetOptions("localhost"), CancellationToken.None));

    [Benchmark(Description = "raw + X509SvidValidator in callback (2 chains)")]
    public Task SecondChainInCallback() => HandshakeAsync(
        static (ssl, self) => ssl.AuthenticateAsServerAsync(self._twoChainServer, CancellationToken.None),
        static (ssl, self) => ssl.AuthenticateAsClientAsync(self._twoChainClient, CancellationToken.None));

    private async Task HandshakeAsync(Func<SslStream, MtlsHandshakeBenchmarks, Task> server, Func<SslStream, MtlsHandshakeBenchmarks, Task> client)
    {
        var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task<Socket> accept = _listener.AcceptAsync();
        await clientSocket.ConnectAsync(_endpoint);
        Socket serverSocket = await accept;
        serverSocket.NoDelay = true;
        await using var serverSsl = new SslStream(new NetworkStream(serverSocket, ownsSocket: true));
        await using var clientSsl = new SslStream(new NetworkStream(clientSocket, ownsSocket: true));
        Task serverHandshake = server(serverSsl, this);
        await client(clientSsl, this);
        await serverHandshake;
    }

    private sealed class FixedSvid(X509Svid svid) : IX509SvidSource
    {
        public X509Svid GetX509Svid() => svid;
    }
}

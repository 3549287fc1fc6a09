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
/// A known peer reconnecting (issue 8 point 3): one new TCP connection, both mutual TLS handshakes,
/// one byte from the server (which also delivers the TLS 1.3 session ticket), close. P-256 SVIDs
/// with one intermediate, bundles holding the root. Full handshakes (resumption off) against
/// resumed ones (resumption on, same client options and host name every time, so every connection
/// after the first resumes): raw SslStream with static options, and the SDK, whose resumed
/// handshake accepts the peer's leaf only because that exact leaf was fully validated before
/// against the same bundles (PeerSvidVerifier, VerifiedLeafCache), then authorizes it again.
/// </summary>
[MemoryDiagnoser]
public class MtlsResumptionBenchmarks
{
    private TestCertificateAuthority _ca = null!;
    private X509Bundle _bundle = null!;
    private X509Svid _serverSvid = null!;
    private X509Svid _clientSvid = null!;
    private Socket _listener = null!;
    private IPEndPoint _endpoint = null!;
    private SpiffeTlsServer _sdkFullServer = null!;
    private SpiffeTlsClient _sdkFullClient = null!;
    private SpiffeTlsServer _sdkResumeServer = null!;
    private SpiffeTlsClient _sdkResumeClient = null!;
    private SslServerAuthenticationOptions _rawFullServer = null!;
    private SslClientAuthenticationOptions _rawFullClient = null!;
    private SslServerAuthenticationOptions _rawResumeServer = null!;
    private SslClientAuthenticationOptions _rawResumeClient = null!;

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

        var full = new SpiffeTlsOptions { AllowTlsResume = false };
        var resume = new SpiffeTlsOptions { AllowTlsResume = true };
        _sdkFullServer = SpiffeTlsServer.MutualTls(new FixedSvid(_serverSvid), _bundle, SpiffeIdAuthorizer.Exact(_clientSvid.Id), full);
        _sdkFullClient = SpiffeTlsClient.MutualTls(new FixedSvid(_clientSvid), _bundle, SpiffeIdAuthorizer.Exact(_serverSvid.Id), full);
        _sdkResumeServer = SpiffeTlsServer.MutualTls(new FixedSvid(_serverSvid), _bundle, SpiffeIdAuthorizer.Exact(_clientSvid.Id), resume);
        _sdkResumeClient = SpiffeTlsClient.MutualTls(new FixedSvid(_clientSvid), _bundle, SpiffeIdAuthorizer.Exact(_serverSvid.Id), resume);

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(_bundle.X509Authorities[0]);
        _rawFullServer = RawServer(policy, resume: false);
        _rawFullClient = RawClient(policy, resume: false);
        _rawResumeServer = RawServer(policy, resume: true);
        _rawResumeClient = RawClient(policy, resume: true);

        RawFull().GetAwaiter().GetResult();
        RawResumed().GetAwaiter().GetResult();
        SdkFull().GetAwaiter().GetResult();
        SdkResumed().GetAwaiter().GetResult();
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

    [Benchmark(Baseline = true, Description = "raw SslStream, full handshake")]
    public Task RawFull() => HandshakeAsync(_rawFullServer, _rawFullClient);

    [Benchmark(Description = "raw SslStream, resumed")]
    public Task RawResumed() => HandshakeAsync(_rawResumeServer, _rawResumeClient);

    [Benchmark(Description = "SDK, full handshake (AllowTlsResume = false)")]
    public Task SdkFull() => HandshakeAsync(_sdkFullServer.GetOptions(), _sdkFullClient.GetOptions("localhost"));

    [Benchmark(Description = "SDK, resumed (leaf re-validated from the earlier full validation)")]
    public Task SdkResumed() => HandshakeAsync(_sdkResumeServer.GetOptions(), _sdkResumeClient.GetOptions("localhost"));

    private SslServerAuthenticationOptions RawServer(X509ChainPolicy policy, bool resume) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(_serverSvid.Certificate, [.. _serverSvid.Intermediates], offline: true),
        ClientCertificateRequired = true,
        CertificateChainPolicy = policy,
        // Accepts a resumed session's leaf-only chain without any check: the cheapest possible baseline.
        RemoteCertificateValidationCallback = resume ? static (_, certificate, _, _) => certificate is not null : static (_, _, _, errors) => errors == SslPolicyErrors.None,
        AllowTlsResume = resume,
    };

    private SslClientAuthenticationOptions RawClient(X509ChainPolicy policy, bool resume) => new()
    {
        TargetHost = "localhost",
        ClientCertificateContext = SslStreamCertificateContext.Create(_clientSvid.Certificate, [.. _clientSvid.Intermediates], offline: true),
        CertificateChainPolicy = policy,
        RemoteCertificateValidationCallback = resume
            ? static (_, certificate, _, _) => certificate is not null
            : static (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None,
        AllowTlsResume = resume,
    };

    private async Task HandshakeAsync(SslServerAuthenticationOptions server, SslClientAuthenticationOptions client)
    {
        var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task<Socket> accept = _listener.AcceptAsync();
        await clientSocket.ConnectAsync(_endpoint);
        Socket serverSocket = await accept;
        serverSocket.NoDelay = true;
        await using var serverSsl = new SslStream(new NetworkStream(serverSocket, ownsSocket: true));
        await using var clientSsl = new SslStream(new NetworkStream(clientSocket, ownsSocket: true));
        Task serverSide = ServeOneByteAsync(serverSsl, server);
        await clientSsl.AuthenticateAsClientAsync(client, CancellationToken.None);
        var buffer = new byte[1];
        if (await clientSsl.ReadAsync(buffer) != 1)
        {
            throw new InvalidOperationException("The server refused the handshake.");
        }

        await serverSide;
    }

    private static async Task ServeOneByteAsync(SslStream ssl, SslServerAuthenticationOptions options)
    {
        await ssl.AuthenticateAsServerAsync(options, CancellationToken.None);
        await ssl.WriteAsync(new byte[] { 1 });
    }

    private sealed class FixedSvid(X509Svid svid) : IX509SvidSource
    {
        public X509Svid GetX509Svid() => svid;
    }
}

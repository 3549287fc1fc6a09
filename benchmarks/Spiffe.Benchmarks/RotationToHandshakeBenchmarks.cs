using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Benchmarks;

/// <summary>
/// Time from a Workload API push of a new server SVID to the first new mTLS handshake that
/// presents it: the server takes its SVID from an <see cref="X509Source"/> on a real in-process
/// agent; a client opens new connections until the server's leaf is the pushed one (bounded). The
/// baseline is one handshake with no rotation, so the ratio reads "a rotation costs N handshakes".
/// Single-operation iterations (P50/P99 are per rotation, 200 samples).
/// </summary>
[Config(typeof(Latency))]
public class RotationToHandshakeBenchmarks
{
    private TestCertificateAuthority _ca = null!;
    private WorkloadApiServer _agent = null!;
    private X509Source _source = null!;
    private X509Bundle _bundle = null!;
    private X509Svid _clientSvid = null!;
    private WorkloadApiX509Svid[] _pushes = null!;
    private byte[][] _leaves = null!;
    private Socket _listener = null!;
    private IPEndPoint _endpoint = null!;
    private SpiffeTlsServer _server = null!;
    private SpiffeTlsClient _client = null!;
    private int _next;

    private sealed class Latency : ManualConfig
    {
        public Latency()
        {
            AddJob(Job.Default.WithStrategy(RunStrategy.Throughput).WithInvocationCount(1).WithUnrollFactor(1).WithWarmupCount(10).WithIterationCount(200));
            AddDiagnoser(MemoryDiagnoser.Default);
            AddColumn(StatisticColumn.P50, StatisticColumn.P95, new P99Column(), StatisticColumn.Max);
        }
    }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var backend = SpiffeId.Parse("spiffe://example.org/backend");
        _ca = TestCertificateAuthority.Create(backend.TrustDomain, new TestCertificateAuthorityOptions { WithIntermediate = true });
        _bundle = _ca.CreateX509Bundle();
        _clientSvid = _ca.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/frontend"));
        _pushes = new WorkloadApiX509Svid[2];
        _leaves = new byte[2][];
        for (int i = 0; i < 2; i++)
        {
            TestX509SvidMaterial material = _ca.CreateX509SvidMaterial(backend);
            _pushes[i] = new WorkloadApiX509Svid(backend.ToString(), material.ChainDer, material.PrivateKeyPkcs8, _ca.RootCertificate.RawData);
            _leaves[i] = material.LeafDer.ToArray();
        }

        _agent = await WorkloadApiServer.StartAsync();
        _agent.SetX509Svids([_pushes[1]]);
        _source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = _agent.Address } });

        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _endpoint = (IPEndPoint)_listener.LocalEndPoint!;
        var noResume = new SpiffeTlsOptions { AllowTlsResume = false };
        _server = SpiffeTlsServer.MutualTls(_source, _source, SpiffeIdAuthorizer.Exact(_clientSvid.Id), noResume);
        _client = SpiffeTlsClient.MutualTls(new Fixed(_clientSvid), _bundle, SpiffeIdAuthorizer.Exact(backend), noResume);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _listener.Dispose();
        await _source.DisposeAsync();
        await _agent.DisposeAsync();
        _clientSvid.Dispose();
        _bundle.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true, Description = "one mTLS handshake, no rotation")]
    public Task<byte[]> OneHandshake() => HandshakeAsync();

    [Benchmark(Description = "push new SVID -> first handshake presenting it")]
    public async Task<int> PushToFirstHandshake()
    {
        int index = _next++ % 2;
        _agent.PushX509SvidsRaw([_pushes[index]]);
        for (int attempt = 1; attempt <= 1000; attempt++)
        {
            if ((await HandshakeAsync()).AsSpan().SequenceEqual(_leaves[index]))
            {
                return attempt;
            }
        }

        throw new InvalidOperationException("The pushed SVID never reached a handshake.");
    }

    private async Task<byte[]> HandshakeAsync()
    {
        Task<Socket> accept = _listener.AcceptAsync();
        using var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await clientSocket.ConnectAsync(_endpoint);
        using Socket serverSocket = await accept;
        await using var serverStream = new SslStream(new NetworkStream(serverSocket));
        await using var clientStream = new SslStream(new NetworkStream(clientSocket));
        await Task.WhenAll(
            serverStream.AuthenticateAsServerAsync(_server.GetOptions()),
            clientStream.AuthenticateAsClientAsync(_client.GetOptions("localhost")));
        return clientStream.RemoteCertificate!.GetRawCertData();
    }

    private sealed class Fixed(X509Svid svid) : IX509SvidSource
    {
        public X509Svid GetX509Svid() => svid;
    }
}

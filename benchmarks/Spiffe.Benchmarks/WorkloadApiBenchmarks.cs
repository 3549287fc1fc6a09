using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Grpc.Core;
using Grpc.Net.Client;
using Spiffe.Testing;
using Spiffe.WorkloadApi;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.Benchmarks;

/// <summary>
/// The Workload API path against a real in-process agent on a Unix socket. Each iteration is one
/// operation (InvocationCount = 1), so the P50/P99 columns are per-operation latencies, and the
/// allocation column is bytes per operation across the process (client and in-process server).
/// Baselines run the same gRPC exchange with the raw generated client and no SDK parsing.
/// </summary>
[Config(typeof(WorkloadApiBenchmarks.LatencyConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class WorkloadApiBenchmarks
{
    private static readonly SpiffeId s_id = SpiffeId.Parse("spiffe://example.org/web");
    private TestCertificateAuthority _ca = null!;
    private WorkloadApiServer _server = null!;
    private WorkloadApiX509Svid _a = null!;
    private WorkloadApiX509Svid _b = null!;
    private X509Source? _source;
    private GrpcChannel? _rawChannel;
    private AsyncServerStreamingCall<X509SVIDResponse>? _rawStream;
    private bool _flip;

    private sealed class LatencyConfig : ManualConfig
    {
        public LatencyConfig()
        {
            AddJob(Job.Default
                .WithStrategy(RunStrategy.Throughput)
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithWarmupCount(20)
                .WithIterationCount(300));
            AddDiagnoser(MemoryDiagnoser.Default);
            AddColumn(StatisticColumn.P50, new P99Column());
            WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }
    }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _ca = TestCertificateAuthority.Create(s_id.TrustDomain, new TestCertificateAuthorityOptions { WithIntermediate = true });
        _server = await WorkloadApiServer.StartAsync();
        _a = Mint();
        _b = Mint();
        _server.SetX509Svids([_a]);
    }

    private WorkloadApiX509Svid Mint()
    {
        TestX509SvidMaterial material = _ca.CreateX509SvidMaterial(s_id);
        return new WorkloadApiX509Svid(s_id.ToString(), material.ChainDer, material.PrivateKeyPkcs8, _ca.RootCertificate.RawData);
    }

    private X509SourceOptions SourceOptions => new() { ClientOptions = new WorkloadApiClientOptions { Address = _server.Address } };

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _rawStream?.Dispose();
        _rawChannel?.Dispose();
        if (_source is not null)
        {
            await _source.DisposeAsync();
        }

        await _server.DisposeAsync();
        _ca.Dispose();
    }

    // ---- Start-up: from nothing to the first SVID ----

    [Benchmark(Baseline = true, Description = "raw gRPC: connect + first FetchX509SVID message")]
    [BenchmarkCategory("Startup")]
    public async Task<int> RawFirstMessage()
    {
        using GrpcChannel channel = CreateRawChannel();
        var client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(channel);
        using AsyncServerStreamingCall<X509SVIDResponse> call = client.FetchX509SVID(new X509SVIDRequest(), RawHeaders());
        await call.ResponseStream.MoveNext(CancellationToken.None);
        return call.ResponseStream.Current.Svids.Count;
    }

    [Benchmark(Description = "X509Source.CreateAsync to first SVID")]
    [BenchmarkCategory("Startup")]
    public async Task<SpiffeId> CreateAsyncToFirstSvid()
    {
        await using X509Source source = await X509Source.CreateAsync(SourceOptions);
        return source.GetX509Svid().Id;
    }

    // ---- Rotation: from the agent's push to the reader ----

    [GlobalSetup(Target = nameof(RawPushToMessage))]
    public async Task SetupRawStreamAsync()
    {
        await SetupAsync();
        _rawChannel = CreateRawChannel();
        _rawStream = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(_rawChannel).FetchX509SVID(new X509SVIDRequest(), RawHeaders());
        await _rawStream.ResponseStream.MoveNext(CancellationToken.None);
    }

    [GlobalSetup(Target = nameof(PushToUpdated))]
    public async Task SetupSourceAsync()
    {
        await SetupAsync();
        _source = await X509Source.CreateAsync(SourceOptions);
    }

    [Benchmark(Baseline = true, Description = "raw gRPC: push to message received")]
    [BenchmarkCategory("Rotation")]
    public async Task<int> RawPushToMessage()
    {
        _flip = !_flip;
        _server.PushX509SvidsRaw([_flip ? _b : _a]);
        await _rawStream!.ResponseStream.MoveNext(CancellationToken.None);
        return _rawStream.ResponseStream.Current.Svids.Count;
    }

    [Benchmark(Description = "X509Source: push to Updated (parse + validate + swap)")]
    [BenchmarkCategory("Rotation")]
    public async Task<X509Context> PushToUpdated()
    {
        _flip = !_flip;
        Task<X509Context> next = _source!.WaitForUpdateAsync();
        _server.PushX509SvidsRaw([_flip ? _b : _a]);
        return await next;
    }

    private GrpcChannel CreateRawChannel()
    {
        string path = _server.SocketPath!;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
    }

    private static CallOptions RawHeaders() => new(headers: [new Metadata.Entry("workload.spiffe.io", "true")]);
}

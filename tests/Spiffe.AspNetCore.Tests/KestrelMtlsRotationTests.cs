using System.Collections.Concurrent;
using System.Net;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;
using Xunit.Abstractions;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// Rotation of both SVIDs under load: real Kestrel (UseSpiffeMtls) on 127.0.0.1 and 50 HttpClients,
/// each on its own SpiffeHttpHandler, half HTTP/1.1 and half HTTP/2, sending requests without pause
/// while the server's and the clients' SVIDs are re-issued ten times. The SslStream-level
/// counterpart is Spiffe.Core.Tests/Tls/SpiffeTlsRotationTests.cs.
/// </summary>
public sealed class KestrelMtlsRotationTests(ITestOutputHelper output)
{
    private const int Clients = 50;
    private const int Rotations = 10;

    // Each client completes this many requests started after a rotation before the next one.
    private const int RequestsPerPhase = 3;

    private static readonly TimeSpan s_phaseTimeout = TimeSpan.FromSeconds(60);
    private static readonly TrustDomain s_trustDomain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");

    [Theory]
    [InlineData("workload-api")]
    [InlineData("in-memory")]
    public async Task FiftyClientsThroughTenRotationsOfBothSides_NoFailedRequest_NewSerialsOnNewConnections(string sourceKind)
    {
        await using RotatingIdentities identities = sourceKind == "workload-api"
            ? await WorkloadApiIdentities.StartAsync()
            : new InMemoryIdentities();
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(identities.ServerSvid, identities.ServerBundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        var serverSerials = new List<string> { Serial(identities.ServerSvid) };
        var clientSerials = new List<string> { Serial(identities.ClientSvid) };

        // A phase is one SVID generation; phase n starts once both sources hand out generation n.
        int phase = 0;
        var phaseDone = new TaskCompletionSource[Rotations + 1];
        var clientsDoneInPhase = new int[Rotations + 1];
        for (int i = 0; i <= Rotations; i++)
        {
            phaseDone[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failures = new ConcurrentQueue<string>();
        var results = new ConcurrentQueue<(int Client, int StartedInPhase, PeerReport Report)>[Clients];
        var observers = new TlsConnectionObserver[Clients];
        using var stop = new CancellationTokenSource();

        async Task RunClientAsync(int index)
        {
            results[index] = new();
            observers[index] = new TlsConnectionObserver();
            using var http = new HttpClient(new SpiffeHttpHandler(identities.ClientSvid, identities.ClientBundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions
            {
                DrainPeriod = TimeSpan.FromSeconds(1),
                ConfigureHandler = observers[index].Configure,
            }))
            {
                DefaultRequestVersion = index % 2 == 0 ? HttpVersion.Version11 : HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Timeout = TimeSpan.FromSeconds(30),
            };
            int countedPhase = 0;
            int counted = 0;
            while (!stop.IsCancellationRequested)
            {
                int started = Volatile.Read(ref phase);
                PeerReport report;
                try
                {
                    report = PeerReport.Parse(await http.GetStringAsync(server.Peer));
                }
                catch (Exception exception)
                {
                    failures.Enqueue($"client {index} ({http.DefaultRequestVersion}), phase {started}: {exception}");
                    failed.TrySetResult();
                    return; // the test fails; stop this client instead of spinning on errors
                }

                results[index].Enqueue((index, started, report));
                if (started != countedPhase)
                {
                    countedPhase = started;
                    counted = 0;
                }

                if (++counted == RequestsPerPhase && Interlocked.Increment(ref clientsDoneInPhase[started]) == Clients)
                {
                    phaseDone[started].TrySetResult();
                }
            }
        }

        async Task WaitForPhaseAsync(int n)
        {
            Task done = await Task.WhenAny(phaseDone[n].Task, failed.Task).WaitAsync(s_phaseTimeout);
            Assert.True(done == phaseDone[n].Task, string.Join(Environment.NewLine, failures.Take(5)));
        }

        long startedAt = TimeProvider.System.GetTimestamp();
        Task[] clients = [.. Enumerable.Range(0, Clients).Select(i => Task.Run(() => RunClientAsync(i)))];
        try
        {
            for (int rotation = 1; rotation <= Rotations; rotation++)
            {
                await WaitForPhaseAsync(rotation - 1);
                await identities.RotateAsync();
                serverSerials.Add(Serial(identities.ServerSvid));
                clientSerials.Add(Serial(identities.ClientSvid));
                Volatile.Write(ref phase, rotation);
            }

            await WaitForPhaseAsync(Rotations);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));
        }

        TimeSpan elapsed = TimeProvider.System.GetElapsedTime(startedAt);
        output.WriteLine($"{sourceKind}: {results.Sum(r => r.Count)} requests, {observers.Sum(o => o.Connections.Count)} client connections, {Rotations} rotations in {elapsed.TotalSeconds:F1} s; {failures.Count} failed");
        Assert.Empty(failures);
        Assert.Empty(server.HandshakeFailures.Failures);
        Assert.Equal(Rotations + 1, serverSerials.Distinct().Count());
        Assert.Equal(Rotations + 1, clientSerials.Distinct().Count());
        (int Client, int StartedInPhase, PeerReport Report)[] all = [.. results.SelectMany(r => r)];
        Assert.All(all, r => Assert.Equal(s_clientId.ToString(), r.Report.CallerId));
        Assert.Contains(all, r => r.Report.Protocol == "HTTP/1.1");
        Assert.Contains(all, r => r.Report.Protocol == "HTTP/2");

        // A request started after a rotation runs on a new connection with SVIDs at least that new.
        Assert.All(all, r =>
        {
            Assert.True(clientSerials.IndexOf(r.Report.ClientSerial) >= r.StartedInPhase, $"client {r.Client} presented {r.Report.ClientSerial} in phase {r.StartedInPhase}");
            Assert.True(serverSerials.IndexOf(r.Report.ServerSerial) >= r.StartedInPhase, $"server presented {r.Report.ServerSerial} to client {r.Client} in phase {r.StartedInPhase}");
        });

        // Every client used every generation on both sides: the server saw each new client serial,
        // and each client's own handshake accepted each new server serial.
        for (int client = 0; client < Clients; client++)
        {
            HashSet<string> accepted = [.. observers[client].ServerSerials];
            for (int n = 0; n <= Rotations; n++)
            {
                PeerReport expected = new(s_clientId.ToString(), clientSerials[n], serverSerials[n], client % 2 == 0 ? "HTTP/1.1" : "HTTP/2");
                int matching = all.Count(r => r.Client == client && r.StartedInPhase == n && r.Report == expected);
                Assert.True(matching >= RequestsPerPhase, $"client {client}, generation {n}: {matching} requests with {expected}");
                Assert.Contains(serverSerials[n], accepted);
            }
        }
    }

    private static string Serial(IX509SvidSource source) => source.GetX509Svid().Certificate.GetSerialNumberString();

    /// <summary>The server's and the client's SVIDs and bundles, and a way to re-issue both SVIDs.</summary>
    private abstract class RotatingIdentities : IAsyncDisposable
    {
        public abstract IX509SvidSource ServerSvid { get; }

        public abstract IX509BundleSetSource ServerBundles { get; }

        public abstract IX509SvidSource ClientSvid { get; }

        public abstract IX509BundleSetSource ClientBundles { get; }

        /// <summary>Re-issues both SVIDs; returns when both sources hand out the new ones.</summary>
        public abstract Task RotateAsync();

        public abstract ValueTask DisposeAsync();
    }

    /// <summary>
    /// The real path: each workload has its own Workload API server (gRPC over a Unix socket, as
    /// with one agent per host) and its own X509Source; one CA with an intermediate signs both.
    /// </summary>
    private sealed class WorkloadApiIdentities : RotatingIdentities
    {
        private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create(s_trustDomain, new() { WithIntermediate = true });
        private WorkloadApiServer? _serverAgent;
        private WorkloadApiServer? _clientAgent;
        private X509Source? _server;
        private X509Source? _client;

        public override IX509SvidSource ServerSvid => _server!;

        public override IX509BundleSetSource ServerBundles => _server!;

        public override IX509SvidSource ClientSvid => _client!;

        public override IX509BundleSetSource ClientBundles => _client!;

        public static async Task<WorkloadApiIdentities> StartAsync()
        {
            var identities = new WorkloadApiIdentities();
            try
            {
                identities._serverAgent = await WorkloadApiServer.StartAsync();
                identities._clientAgent = await WorkloadApiServer.StartAsync();
                identities.Issue(identities._serverAgent, s_serverId);
                identities.Issue(identities._clientAgent, s_clientId);
                identities._server = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = identities._serverAgent.Address } });
                identities._client = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = identities._clientAgent.Address } });
                return identities;
            }
            catch
            {
                await identities.DisposeAsync();
                throw;
            }
        }

        // The server's SVID first: once the client's new SVID makes it open new connections, they
        // meet the new server SVID (a server rotation alone does not close pooled connections).
        public override async Task RotateAsync()
        {
            Task serverUpdated = WaitForNewSvidAsync(_server!);
            Issue(_serverAgent!, s_serverId);
            await serverUpdated.WaitAsync(TimeSpan.FromSeconds(30));
            Task clientUpdated = WaitForNewSvidAsync(_client!);
            Issue(_clientAgent!, s_clientId);
            await clientUpdated.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public override async ValueTask DisposeAsync()
        {
            foreach (IAsyncDisposable? disposable in new IAsyncDisposable?[] { _client, _server, _clientAgent, _serverAgent })
            {
                if (disposable is not null)
                {
                    await disposable.DisposeAsync();
                }
            }

            _ca.Dispose();
        }

        private void Issue(WorkloadApiServer agent, SpiffeId id)
        {
            TestX509SvidMaterial material = _ca.CreateX509SvidMaterial(id);
            agent.SetX509Svids([new WorkloadApiX509Svid(id.ToString(), material.ChainDer, material.PrivateKeyPkcs8, _ca.RootCertificate.RawData)]);
        }

        // Completes on the first update that carries an SVID other than the current one.
        private static Task WaitForNewSvidAsync(X509Source source)
        {
            X509Svid current = source.GetX509Svid();
            var updated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnUpdated(object? sender, X509SourceUpdatedEventArgs? e)
            {
                if (!ReferenceEquals(source.GetX509Svid(), current))
                {
                    source.Updated -= OnUpdated;
                    updated.TrySetResult();
                }
            }

            source.Updated += OnUpdated;
            OnUpdated(null, null); // in case the update landed before the subscription
            return updated.Task;
        }
    }

    /// <summary>In-memory sources (the fakes shared with the Core TLS tests) and a CA with an intermediate.</summary>
    private sealed class InMemoryIdentities : RotatingIdentities
    {
        private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create(s_trustDomain, new() { WithIntermediate = true });
        private readonly DisposalScope _owned = new();
        private readonly MutableSvidSource _server;
        private readonly MutableSvidSource _client;
        private readonly MutableBundleSource _bundles;

        public InMemoryIdentities()
        {
            _server = new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId)));
            _client = new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_clientId)));
            _bundles = new MutableBundleSource(_owned.Add(_ca.CreateX509Bundle()));
        }

        public override IX509SvidSource ServerSvid => _server;

        public override IX509BundleSetSource ServerBundles => _bundles;

        public override IX509SvidSource ClientSvid => _client;

        public override IX509BundleSetSource ClientBundles => _bundles;

        public override Task RotateAsync()
        {
            _server.Svid = _owned.Add(_ca.CreateX509Svid(s_serverId));
            _client.Svid = _owned.Add(_ca.CreateX509Svid(s_clientId));
            return Task.CompletedTask;
        }

        public override ValueTask DisposeAsync()
        {
            _owned.Dispose();
            _ca.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

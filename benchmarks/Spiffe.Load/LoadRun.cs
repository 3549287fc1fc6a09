using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Load;

/// <summary>
/// A load run: a development agent (the in-process Workload API server) in this process, each
/// measured server in its own child process, and the load from this process: N concurrent callers
/// sending <c>GET /</c> for a fixed time, on kept-alive connections (requests scenario) or on a new
/// mutual TLS connection each (connections scenario, <c>Connection: close</c>). Rows alternate
/// within each round and the order reverses every round (A B C, C B A, …) so that drift on the
/// machine hits every row alike; each row is compared with the baseline row of the same run.
/// </summary>
internal sealed class LoadRun(LoadSettings settings)
{
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://load.test/server");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://load.test/client");
    private static readonly SpiffeId s_otherId = SpiffeId.Parse("spiffe://load.test/other");
    private const int MaxFailureMessages = 10;

    private readonly object _failuresGate = new();
    private readonly List<string> _failureMessages = [];
    private X509Svid _clientSvid = null!;
    private X509Bundle _bundle = null!;

    private sealed record Row(string Name, LoadServerProcess Server, bool NewConnections, bool Resume)
    {
        public HttpClient Client { get; set; } = null!;

        public List<Segment> Segments { get; } = [];

        public long WarmupFailed { get; set; }
    }

    private readonly record struct Segment(long Ok, long Failed, double Seconds, ServerStats Server);

    public async Task<int> RunAsync()
    {
        LoadSettings s = settings;
        string loadStart = LoadAverage();
        Console.WriteLine($"load: scenario {s.Scenario}, {s.Rounds} rounds × {s.Duration.TotalSeconds:0.###} s per row (warm-up {s.Warmup.TotalSeconds:0.###} s), " +
            $"{s.Concurrency} concurrent callers, HTTP/{s.Http} for kept-alive requests");
        Console.WriteLine($"runtime {Environment.Version}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC} (servers alike), load average {loadStart}");

        var agentOptions = new DevelopmentAgentOptions { TrustDomain = s_serverId.TrustDomain };
        agentOptions.Ids.Add(s_serverId);
        agentOptions.Ids.Add(s_clientId);
        agentOptions.Ids.Add(s_otherId);
        await using DevelopmentAgent agent = await DevelopmentAgent.StartAsync(agentOptions);
        await using X509Source clientSource = await CreateSourceAsync(agent.Address, s_clientId);
        _clientSvid = clientSource.GetX509Svid();
        _bundle = clientSource.GetX509Bundle(s_clientId.TrustDomain) ?? throw new InvalidOperationException("The agent sent no bundle for its own trust domain.");

        DirectoryInfo files = Directory.CreateTempSubdirectory("spiffe-load-");
        try
        {
            await using (X509Source serverSource = await CreateSourceAsync(agent.Address, s_serverId))
            {
                WriteRawServerFiles(files.FullName, serverSource.GetX509Svid(), _bundle);
            }

            string[] spiffeArguments = ["--server-id", s_serverId.ToString(), "--client-id", s_clientId.ToString()];
            Task<LoadServerProcess>? noAuth = s.RunsRequests ? LoadServerProcess.StartAsync(ServerMode.NoAuth, agent.Address, spiffeArguments) : null;
            Task<LoadServerProcess> policy = LoadServerProcess.StartAsync(ServerMode.SpiffePolicy, agent.Address, spiffeArguments);
            Task<LoadServerProcess> raw = LoadServerProcess.StartAsync(ServerMode.RawKestrelMtls, null, ["--files", files.FullName]);
            Task<LoadServerProcess>? floor = s.RunsRequests ? LoadServerProcess.StartAsync(ServerMode.FrameworkFloor, agent.Address, spiffeArguments) : null;
            await using LoadServerProcess? noAuthServer = noAuth is null ? null : await noAuth;
            await using LoadServerProcess? floorServer = floor is null ? null : await floor;
            await using LoadServerProcess policyServer = await policy;
            await using LoadServerProcess rawServer = await raw;
            Console.WriteLine(string.Join(", ", new[] { noAuthServer, policyServer, rawServer, floorServer }.OfType<LoadServerProcess>()
                .Select(p => $"{ServerModes.Name(p.Mode)}: pid {p.ProcessId} on 127.0.0.1:{p.Port}")));

            List<string> checkFailures = await CheckServersAsync(agent.Address, [.. new[] { noAuthServer, policyServer, rawServer, floorServer }.OfType<LoadServerProcess>()]);

            var scenarios = new List<ScenarioResult>();
            if (noAuthServer is not null)
            {
                Row[] rows =
                [
                    new("UseSpiffeMtls, no authentication (baseline)", noAuthServer, NewConnections: false, Resume: true),
                    new("UseSpiffeMtls + AddSpiffeX509 + RequireSpiffeId policy", policyServer, NewConnections: false, Resume: true),
                    new("raw Kestrel mTLS, static certificates (reference)", rawServer, NewConnections: false, Resume: true),
                    new("ASP.NET Core floor: fixed-principal scheme + RequireAuthenticatedUser (reference)", floorServer!, NewConnections: false, Resume: true),
                ];
                scenarios.Add(await RunScenarioAsync($"requests: kept-alive HTTP/{s.Http}, concurrency {s.Concurrency}", rows));
            }

            if (s.RunsConnections)
            {
                Row[] rows =
                [
                    new("raw Kestrel RequireCertificate + chain check, full handshake (baseline)", rawServer, NewConnections: true, Resume: false),
                    new("SDK: UseSpiffeMtls + AddSpiffeX509 + policy, full handshake", policyServer, NewConnections: true, Resume: false),
                    new("raw Kestrel, resumed", rawServer, NewConnections: true, Resume: true),
                    new("SDK, resumed (AllowTlsResume, on by default on Linux)", policyServer, NewConnections: true, Resume: true),
                ];
                scenarios.Add(await RunScenarioAsync($"connections: a new mTLS connection per request (HTTP/1.1, Connection: close), concurrency {s.Concurrency}", rows));
            }

            long failed = scenarios.Sum(sc => sc.Rows.Sum(r => r.Failed));
            var result = new LoadResult(scenarios, failed, checkFailures, loadStart, LoadAverage());
            Console.WriteLine();
            Console.WriteLine($"load average at the end {result.LoadAverageEnd}; {failed} failed requests; {checkFailures.Count} failed checks");
            lock (_failuresGate)
            {
                foreach (string message in _failureMessages)
                {
                    Console.WriteLine($"  failure: {message}");
                }
            }

            Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
            return result.Passed ? 0 : 1;
        }
        finally
        {
            files.Delete(recursive: true);
        }
    }

    private async Task<ScenarioResult> RunScenarioAsync(string name, Row[] rows)
    {
        Console.WriteLine();
        Console.WriteLine($"## {name}");
        foreach (Row row in rows)
        {
            row.Client = CreateClient(_clientSvid, row.Resume, row.NewConnections ? HttpVersion.Version11 : settings.Http);
        }

        try
        {
            if (settings.Warmup > TimeSpan.Zero)
            {
                foreach (Row row in rows)
                {
                    Segment warmup = await RunSegmentAsync(row, settings.Warmup);
                    row.WarmupFailed += warmup.Failed;
                }
            }

            for (int round = 0; round < settings.Rounds; round++)
            {
                IEnumerable<Row> order = round % 2 == 0 ? rows : rows.Reverse();
                var line = new List<string>();
                foreach (Row row in order)
                {
                    Segment segment = await RunSegmentAsync(row, settings.Duration);
                    row.Segments.Add(segment);
                    line.Add(string.Create(CultureInfo.InvariantCulture, $"{Array.IndexOf(rows, row) + 1}: {segment.Ok / segment.Seconds:0}/s"));
                }

                Console.WriteLine($"round {round + 1}: {string.Join(", ", line)} (load average {LoadAverage()})");
            }
        }
        finally
        {
            foreach (Row row in rows)
            {
                row.Client.Dispose();
            }
        }

        ScenarioResult result = Summarize(name, rows);
        PrintTable(result);
        return result;
    }

    private static ScenarioResult Summarize(string name, Row[] rows)
    {
        Row baseline = rows[0];
        double baselineRate = Rate(baseline.Segments);
        var results = new List<RowResult>();
        foreach (Row row in rows)
        {
            double[] roundRatios = [.. row.Segments.Select((segment, i) => Rate([segment]) / Rate([baseline.Segments[i]])).Order()];
            double median = roundRatios.Length == 0 ? double.NaN
                : roundRatios.Length % 2 == 1 ? roundRatios[roundRatios.Length / 2]
                : (roundRatios[(roundRatios.Length / 2) - 1] + roundRatios[roundRatios.Length / 2]) / 2;
            long ok = row.Segments.Sum(x => x.Ok);
            results.Add(new RowResult(
                row.Name,
                ServerModes.Name(row.Server.Mode),
                row.NewConnections,
                row.Resume,
                ok,
                row.Segments.Sum(x => x.Failed) + row.WarmupFailed,
                row.Segments.Sum(x => x.Seconds),
                Rate(row.Segments),
                Rate(row.Segments) / baselineRate,
                median,
                row.Segments.Sum(x => x.Server.Requests),
                row.Segments.Sum(x => x.Server.Handshakes),
                row.Segments.Sum(x => x.Server.Resumed)));
        }

        return new ScenarioResult(name, baseline.Name, results);
    }

    private static double Rate(IEnumerable<Segment> segments)
    {
        double seconds = segments.Sum(x => x.Seconds);
        return seconds > 0 ? segments.Sum(x => x.Ok) / seconds : 0;
    }

    private static void PrintTable(ScenarioResult result)
    {
        Console.WriteLine();
        Console.WriteLine("| # | Row | Requests/s | Ratio | Median round ratio | Requests | Failed | Server: handshakes / resumed |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        int i = 0;
        foreach (RowResult row in result.Rows)
        {
            string resumed = row.Server == ServerModes.Name(ServerMode.RawKestrelMtls) ? "–" : row.ServerResumed.ToString(CultureInfo.InvariantCulture);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {++i} | {row.Name} | {row.RequestsPerSecond:0} | {row.Ratio:0.000} | {row.MedianRoundRatio:0.000} | {row.Requests} | {row.Failed} | {row.ServerHandshakes} / {resumed} |"));
        }
    }

    /// <summary>Concurrent callers for <paramref name="duration"/>; the segment lasts until the last caller's last response.</summary>
    private async Task<Segment> RunSegmentAsync(Row row, TimeSpan duration)
    {
        ServerStats before = await row.Server.StatsAsync();
        var uri = new Uri($"https://127.0.0.1:{row.Server.Port}/");
        Stopwatch clock = Stopwatch.StartNew();
        var callers = new Task<(long Ok, long Failed)>[settings.Concurrency];
        for (int i = 0; i < callers.Length; i++)
        {
            callers[i] = Task.Run(() => CallerAsync(row, uri, clock, duration));
        }

        (long Ok, long Failed)[] counts = await Task.WhenAll(callers);
        double seconds = clock.Elapsed.TotalSeconds;
        ServerStats after = await row.Server.StatsAsync();
        return new Segment(counts.Sum(c => c.Ok), counts.Sum(c => c.Failed), seconds, after - before);
    }

    private async Task<(long Ok, long Failed)> CallerAsync(Row row, Uri uri, Stopwatch clock, TimeSpan duration)
    {
        long ok = 0, failed = 0;
        while (clock.Elapsed < duration)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (row.NewConnections)
            {
                request.Headers.ConnectionClose = true; // every request is a new TCP connection and a TLS handshake
            }

            try
            {
                using HttpResponseMessage response = await row.Client.SendAsync(request);
                string body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.OK && body == "ok")
                {
                    ok++;
                }
                else
                {
                    failed++;
                    Fail(row, $"HTTP {(int)response.StatusCode}: {body}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                failed++;
                Fail(row, e.ToString());
            }
        }

        return (ok, failed);
    }

    private void Fail(Row row, string message)
    {
        lock (_failuresGate)
        {
            if (_failureMessages.Count < MaxFailureMessages)
            {
                _failureMessages.Add($"{row.Name}: {message}");
                Console.Error.WriteLine($"failed: {row.Name}: {message}");
            }
        }
    }

    /// <summary>
    /// The same client for every row, so rows differ only by the server: a static client certificate
    /// with its intermediate and a CustomRootTrust policy, nothing per request.
    /// </summary>
    private HttpClient CreateClient(X509Svid svid, bool resume, Version version)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(_bundle.X509Authorities.ToArray());
        // One CA issues both SVIDs: the server's intermediate is the client's own, so a resumed session's
        // leaf-only chain still builds.
        policy.ExtraStore.AddRange(_clientSvid.Intermediates.ToArray());
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            EnableMultipleHttp2Connections = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = SslStreamCertificateContext.Create(svid.Certificate, [.. svid.Intermediates], offline: true),
                CertificateChainPolicy = policy,
                // SVIDs carry no DNS name: mask exactly that bit, as the SDK does.
                RemoteCertificateValidationCallback = static (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None,
                AllowTlsResume = resume,
            },
        };
        var client = new HttpClient(handler)
        {
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        // SocketsHttpHandler takes the TLS host name from the Host header. The client keeps TLS sessions
        // for resumption only under a host name, not an IP address (which is never sent as SNI either).
        client.DefaultRequestHeaders.Host = "localhost";
        return client;
    }

    /// <summary>
    /// Before any load: every server refuses a client whose SVID comes from another CA of the same
    /// trust domain (each one really checks the chain), and only the policy server refuses a valid SVID
    /// with another SPIFFE ID (403; the others answer 200), so the policy is on the measured path.
    /// </summary>
    private async Task<List<string>> CheckServersAsync(string agentAddress, LoadServerProcess[] servers)
    {
        Console.WriteLine("checking the servers (the refusals they log now are expected)");
        var failures = new List<string>();
        using var foreignCa = TestCertificateAuthority.Create(s_clientId.TrustDomain, new TestCertificateAuthorityOptions { WithIntermediate = true });
        using X509Svid foreign = foreignCa.CreateX509Svid(s_clientId);
        await using X509Source otherSource = await CreateSourceAsync(agentAddress, s_otherId);
        using HttpClient foreignClient = CreateClient(foreign, resume: false, HttpVersion.Version11);
        using HttpClient otherClient = CreateClient(otherSource.GetX509Svid(), resume: false, HttpVersion.Version11);
        foreach (LoadServerProcess server in servers)
        {
            string name = ServerModes.Name(server.Mode);
            var uri = new Uri($"https://127.0.0.1:{server.Port}/");
            try
            {
                using HttpResponseMessage response = await foreignClient.GetAsync(uri);
                failures.Add($"{name} answered {(int)response.StatusCode} to a client SVID from another CA");
            }
            catch (HttpRequestException)
            {
                // refused at the handshake, as it should be
            }

            HttpStatusCode expected = server.Mode == ServerMode.SpiffePolicy ? HttpStatusCode.Forbidden : HttpStatusCode.OK;
            try
            {
                using HttpResponseMessage response = await otherClient.GetAsync(uri);
                if (response.StatusCode != expected)
                {
                    failures.Add($"{name} answered {(int)response.StatusCode} to {s_otherId}, expected {(int)expected}");
                }
            }
            catch (HttpRequestException e)
            {
                failures.Add($"{name} refused {s_otherId}: {e.Message}");
            }
        }

        Console.WriteLine(failures.Count == 0
            ? "checks: every server refuses a client SVID from another CA; only spiffe-policy refuses another SPIFFE ID (403)"
            : "checks FAILED: " + string.Join("; ", failures));
        return failures;
    }

    private static async Task<X509Source> CreateSourceAsync(string address, SpiffeId id) =>
        await X509Source.CreateAsync(new X509SourceOptions
        {
            ClientOptions = new WorkloadApiClientOptions { Address = address },
            Picker = svids => svids.FirstOrDefault(v => v.Id == id)!,
            StartTimeout = TimeSpan.FromMinutes(2), // the machine may be busy
        });

    // The raw server's static certificates: the same kind of SVID from the same agent, as PEM files.
    private static void WriteRawServerFiles(string directory, X509Svid svid, X509Bundle bundle)
    {
        File.WriteAllText(Path.Combine(directory, "svid.pem"), svid.ToPem());
        File.WriteAllText(Path.Combine(directory, "svid_key.pem"), svid.ExportPrivateKeyPem());
        File.WriteAllText(Path.Combine(directory, "bundle.pem"), bundle.ToPem());
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }
}

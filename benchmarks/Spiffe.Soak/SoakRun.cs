using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

namespace Spiffe.Soak;

/// <summary>
/// The soak: a development agent (rotating every SVID), the measured server in its own process,
/// and the load in this process — new TLS connections and kept-alive HTTP/2 requests through
/// <see cref="SpiffeHttpHandler"/> — while the agent restarts and pushes malformed messages.
/// </summary>
internal sealed class SoakRun
{
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://soak.test/server");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://soak.test/client");

    private readonly SoakSettings _settings;
    private readonly Stopwatch _clock = new();
    private readonly object _failuresGate = new();
    private readonly List<string> _failureMessages = [];
    private readonly List<SoakSample> _samples = [];
    private long _newConnectionOk, _keepAliveOk, _failedWithValidSvid, _failedWithoutValidSvid;
    private long _rotations, _restarts, _malformedPushes;
    private long _validUntilTicks; // the earliest NotAfter of the latest issuance, UTC ticks

    public SoakRun(SoakSettings settings) => _settings = settings;

    public async Task<int> RunAsync()
    {
        SoakSettings s = _settings;
        Console.WriteLine($"soak: {s.Duration.TotalMinutes:0.##} min, rotation every {s.Rotation.TotalSeconds:0.###} s (SVID TTL {s.SvidTimeToLive.TotalSeconds:0.#} s), " +
            $"{s.Restarts} agent restarts ({s.RestartDowntime.TotalSeconds:0.#} s down), a malformed push every {s.MalformedEvery.TotalSeconds:0.#} s, " +
            $"{s.ConnectionsPerSecond:0.#} new connections/s + {s.KeepAlivePerSecond:0.#} kept-alive requests/s, sample every {s.Sample.TotalSeconds:0.#} s");
        Console.WriteLine($"runtime {Environment.Version}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}, MALLOC_ARENA_MAX={Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") ?? "(unset)"}");

        var agentOptions = new DevelopmentAgentOptions
        {
            TrustDomain = s_serverId.TrustDomain,
            SvidTimeToLive = s.SvidTimeToLive,
            RotationInterval = s.Rotation,
        };
        agentOptions.Ids.Add(s_serverId);
        agentOptions.Ids.Add(s_clientId);
        await using DevelopmentAgent agent = await DevelopmentAgent.StartAsync(agentOptions);
        agent.Rotated += (_, e) =>
        {
            Interlocked.Increment(ref _rotations);
            Volatile.Write(ref _validUntilTicks, e.Svids.Min(v => v.NotAfter.UtcTicks));
        };
        agent.Rotate(); // the first issuance happened before the handler was attached
        using var otherCa = TestCertificateAuthority.Create(agent.TrustDomain);

        await using SoakServerProcess server = await SoakServerProcess.StartAsync(agent.Address, s_serverId, s_clientId);
        Console.WriteLine($"server pid {server.ProcessId} listening on 127.0.0.1:{server.Port}");

        var clientOptions = new X509SourceOptions
        {
            ClientOptions = new WorkloadApiClientOptions { Address = agent.Address },
            Picker = svids => svids.FirstOrDefault(v => v.Id == s_clientId)!,
            StartTimeout = TimeSpan.FromMinutes(2), // the machine may be busy with other work
        };
        await using X509Source client = await X509Source.CreateAsync(clientOptions);
        var baseAddress = new Uri($"https://127.0.0.1:{server.Port}/");
        using var newConnections = new HttpClient(new SpiffeHttpHandler(client, client, SpiffeIdAuthorizer.Exact(s_serverId))) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(15) };
        using var keptAlive = new HttpClient(new SpiffeHttpHandler(client, client, SpiffeIdAuthorizer.Exact(s_serverId))) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(15) };

        using var stop = new CancellationTokenSource();
        _clock.Start();
        Task[] work =
        [
            LoadAsync(newConnections, newConnection: true, s.ConnectionsPerSecond / 2, stop.Token),
            LoadAsync(newConnections, newConnection: true, s.ConnectionsPerSecond / 2, stop.Token),
            LoadAsync(keptAlive, newConnection: false, s.KeepAlivePerSecond / 2, stop.Token),
            LoadAsync(keptAlive, newConnection: false, s.KeepAlivePerSecond / 2, stop.Token),
            RestartAgentAsync(agent, stop.Token),
            PushMalformedAsync(agent, otherCa, stop.Token),
        ];

        PrintHeader();
        using (var sampling = new PeriodicTimer(s.Sample))
        {
            await SampleAsync(server);
            while (_clock.Elapsed + TimeSpan.FromMilliseconds(100) < s.Duration)
            {
                TimeSpan left = s.Duration - _clock.Elapsed;
                if (left < s.Sample)
                {
                    await Task.Delay(left);
                    break;
                }

                await sampling.WaitForNextTickAsync();
                await SampleAsync(server);
            }
        }

        // The last sample is taken with the load still running, like every other one.
        if (_samples[^1].Seconds < s.Duration.TotalSeconds - 1)
        {
            await SampleAsync(server);
        }

        await stop.CancelAsync();
        await Task.WhenAll(work);
        return Report(server);
    }

    private async Task LoadAsync(HttpClient http, bool newConnection, double perSecond, CancellationToken cancellationToken)
    {
        using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1 / perSecond));
        try
        {
            while (await pace.WaitForNextTickAsync(cancellationToken))
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "hello");
                if (newConnection)
                {
                    // HTTP/1.1 with Connection: close — every request is a new TCP connection and a full handshake.
                    request.Version = System.Net.HttpVersion.Version11;
                    request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                    request.Headers.ConnectionClose = true;
                }
                else
                {
                    request.Version = System.Net.HttpVersion.Version20;
                    request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                }

                try
                {
                    using HttpResponseMessage response = await http.SendAsync(request, cancellationToken);
                    string body = await response.Content.ReadAsStringAsync(cancellationToken);
                    if (!response.IsSuccessStatusCode || !body.StartsWith(s_clientId.ToString(), StringComparison.Ordinal))
                    {
                        Fail($"HTTP {(int)response.StatusCode}: {body}");
                    }
                    else
                    {
                        Interlocked.Increment(ref newConnection ? ref _newConnectionOk : ref _keepAliveOk);
                    }
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    Fail(Describe(e), e);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the soak ended
        }
    }

    private void Fail(string message, Exception? exception = null)
    {
        // A failure counts against the verdict when the agent had issued an SVID that was still valid.
        bool valid = DateTime.UtcNow.Ticks < Volatile.Read(ref _validUntilTicks);
        Interlocked.Increment(ref valid ? ref _failedWithValidSvid : ref _failedWithoutValidSvid);
        lock (_failuresGate)
        {
            if (_failureMessages.Count < 20)
            {
                _failureMessages.Add($"{_clock.Elapsed.TotalSeconds,8:0.0}s {(valid ? "(valid SVID)" : "(no valid SVID)")} {message}");
            }

            if (exception is not null && _failureMessages.Count <= 3)
            {
                Console.Error.WriteLine($"failure at {_clock.Elapsed.TotalSeconds:0.0}s, in full: {exception}");
            }
        }
    }

    private static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null && parts.Count < 4; x = x.InnerException)
        {
            parts.Add($"{x.GetType().Name}: {x.Message}");
        }

        return string.Join(" <- ", parts);
    }

    private async Task RestartAgentAsync(DevelopmentAgent agent, CancellationToken cancellationToken)
    {
        int count = _settings.Restarts;
        try
        {
            for (int i = 0; i < count; i++)
            {
                TimeSpan at = _settings.Duration * ((i + 0.5) / count);
                TimeSpan wait = at - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                // Like an agent process going away: every stream drops, the socket disappears for a while.
                await agent.Server.StopAsync(cancellationToken);
                await Task.Delay(_settings.RestartDowntime, cancellationToken);
                await agent.Server.RestartAsync(cancellationToken);
                Interlocked.Increment(ref _restarts);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (!agent.Server.IsRunning)
            {
                await agent.Server.RestartAsync(CancellationToken.None);
            }
        }
    }

    private async Task PushMalformedAsync(DevelopmentAgent agent, TestCertificateAuthority otherCa, CancellationToken cancellationToken)
    {
        byte[] bundle = agent.CertificateAuthority.RootCertificate.RawData;
        var options = new TestX509SvidOptions { TimeToLive = _settings.SvidTimeToLive };
        using var pace = new PeriodicTimer(_settings.MalformedEvery);
        try
        {
            for (int i = 0; await pace.WaitForNextTickAsync(cancellationToken); i++)
            {
                SpiffeId id = i % 2 == 0 ? s_serverId : s_clientId;
                TestX509SvidMaterial good = agent.CertificateAuthority.CreateX509SvidMaterial(id, options);
                var valid = new WorkloadApiX509Svid(id.ToString(), good.ChainDer, good.PrivateKeyPkcs8, bundle);

                // Only breakages the X509Source is known to discard while keeping its current SVID
                // (X509SourceTests.MalformedMessage_IsDiscardedAndPreviousSvidKept).
                WorkloadApiX509Svid[] message = (i / 2 % 6) switch
                {
                    0 => [],
                    1 => [valid with { CertificateChainDer = [0x30, 0x03, 0x01, 0x02, 0x03] }],
                    2 => [valid with { PrivateKeyPkcs8Der = [] }],
                    3 => [valid with { SpiffeId = string.Empty }],
                    4 => [AsRaw(agent.CertificateAuthority.CreateX509SvidMaterial(id, new TestX509SvidOptions { TimeToLive = _settings.SvidTimeToLive, WrongPrivateKey = true }), id, bundle)],
                    _ => [AsRaw(otherCa.CreateX509SvidMaterial(id, options), id, bundle)],
                };
                if (agent.Server.IsRunning)
                {
                    agent.Server.PushX509SvidsRaw(message);
                    Interlocked.Increment(ref _malformedPushes);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the soak ended
        }
    }

    private static WorkloadApiX509Svid AsRaw(TestX509SvidMaterial material, SpiffeId id, byte[] bundle)
        => new(id.ToString(), material.ChainDer, material.PrivateKeyPkcs8, bundle);

    private static void PrintHeader()
    {
        Console.WriteLine();
        Console.WriteLine("   time | server RSS MiB | fds | thr | heap MiB (after GC) | native in use MiB | malloc free MiB | gen2 | load RSS MiB | load fds | new-conn ok | kept-alive ok | failed | rotations | restarts | malformed");
        Console.WriteLine("  ----: | ------------: | --: | --: | ------------------: | ----------------: | --------------: | ---: | -----------: | -------: | ----------: | ------------: | -----: | --------: | -------: | --------:");
    }

    private async Task SampleAsync(SoakServerProcess server)
    {
        SoakSample sample = await server.SampleAsync() with
        {
            Seconds = _clock.Elapsed.TotalSeconds,
            Load = ProcessMemory.Read(),
            NewConnectionOk = Interlocked.Read(ref _newConnectionOk),
            KeepAliveOk = Interlocked.Read(ref _keepAliveOk),
            Failed = Interlocked.Read(ref _failedWithValidSvid) + Interlocked.Read(ref _failedWithoutValidSvid),
            Rotations = Interlocked.Read(ref _rotations),
            Restarts = Interlocked.Read(ref _restarts),
            MalformedPushes = Interlocked.Read(ref _malformedPushes),
        };
        _samples.Add(sample);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{FormatTime(sample.Seconds),7} | {sample.Server.RssKiB / 1024.0,13:0.0} | {sample.Server.Descriptors,3} | {sample.Server.Threads,3} | {sample.HeapBytes / 1048576.0,19:0.00} | {sample.NativeInUseBytes / 1048576.0,17:0.00} | {sample.NativeFreeBytes / 1048576.0,15:0.00} | {sample.Gen2Collections,4} | " +
            $"{sample.Load.RssKiB / 1024.0,12:0.0} | {sample.Load.Descriptors,8} | {sample.NewConnectionOk,11} | {sample.KeepAliveOk,13} | {sample.Failed,6} | {sample.Rotations,9} | {sample.Restarts,8} | {sample.MalformedPushes,9}"));
    }

    private static string FormatTime(double seconds) => $"{(int)(seconds / 60)}:{(int)(seconds % 60):00}";

    private int Report(SoakServerProcess server)
    {
        SoakVerdict verdict = SoakVerdict.Judge(_settings, _samples, Interlocked.Read(ref _failedWithValidSvid), Interlocked.Read(ref _failedWithoutValidSvid), Interlocked.Read(ref _restarts));
        Console.WriteLine();
        lock (_failuresGate)
        {
            foreach (string failure in _failureMessages)
            {
                Console.WriteLine($"failure: {failure}");
            }
        }

        SoakSample last = _samples[^1];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"requests: {last.NewConnectionOk} on new connections + {last.KeepAliveOk} kept-alive; failed {verdict.FailedWithValidSvid} while a valid SVID existed, {verdict.FailedWithoutValidSvid} without one"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rotations {last.Rotations} (server saw {last.ServerUpdates} SVID updates, served {last.ServerRequests} requests), agent restarts {last.Restarts}, malformed pushes {last.MalformedPushes}"));
        foreach (string line in verdict.Lines)
        {
            Console.WriteLine(line);
        }

        Console.WriteLine(verdict.Passed ? "VERDICT: PASS" : "VERDICT: FAIL");
        Console.WriteLine($"RESULT {verdict.ToJson()}");
        _ = server;
        return verdict.Passed ? 0 : 1;
    }
}

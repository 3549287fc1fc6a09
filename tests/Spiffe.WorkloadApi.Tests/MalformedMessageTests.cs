using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Robustness;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>
/// Issue 8 §1: one malformed Workload API message never stops a source. Each reproducer goes down a
/// live stream, followed by a valid message that must still be applied; the discard is logged with
/// its reason and the watch never stops.
/// </summary>
public sealed class MalformedMessageTests
{
    private const int DiscardedEvent = 5;
    private const int FatalEvent = 4;
    private const int WatchFaultedEvent = 21;

    public enum X509Reproducer
    {
        KeyNamesUnknownCurve,
        KeyUsageWithTrailingData,
        FederatedKeysNameOneTrustDomainTwice,
    }

    [Theory]
    [InlineData(X509Reproducer.KeyNamesUnknownCurve, "could not be read")]
    [InlineData(X509Reproducer.KeyUsageWithTrailingData, "malformed extension")]
    [InlineData(X509Reproducer.FederatedKeysNameOneTrustDomainTwice, "names trust domain partner.org twice")]
    public async Task X509Source_Reproducer_IsDiscardedWithLoggedReasonAndNextRotationArrives(X509Reproducer reproducer, string reason)
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = new LoggerFactory([logs]);
        agent.Serve(agent.Svid(TestAgent.Web));
        WorkloadApiClientOptions clientOptions = agent.ClientOptions();
        clientOptions.LoggerFactory = loggerFactory;
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = clientOptions }, TestAgent.Timeout());
        var applied = new List<byte[]>();
        source.Updated += (_, e) => applied.Add(e.Context.DefaultSvid.Certificate.RawData);

        WorkloadApiX509Svid broken;
        Dictionary<string, byte[]>? federated = null;
        switch (reproducer)
        {
            case X509Reproducer.KeyNamesUnknownCurve:
                TestX509SvidMaterial material = MalformedInputs.UnknownCurveMaterial(agent.Ca, TestAgent.Web, out byte[] key);
                broken = new WorkloadApiX509Svid(TestAgent.Web.ToString(), material.ChainDer, key, agent.BundleDer);
                break;
            case X509Reproducer.KeyUsageWithTrailingData:
                TestX509SvidMaterial ku = MalformedInputs.KeyUsageTrailingDataMaterial(agent.Ca, TestAgent.Web);
                broken = new WorkloadApiX509Svid(TestAgent.Web.ToString(), ku.ChainDer, ku.PrivateKeyPkcs8, agent.BundleDer);
                break;
            default:
                broken = agent.Svid(TestAgent.Web);
                federated = new Dictionary<string, byte[]> { ["partner.org"] = agent.PartnerBundleDer, ["spiffe://partner.org"] = agent.PartnerBundleDer };
                break;
        }

        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        Assert.Equal(1, agent.Server.PushX509SvidsRaw([broken], federated));
        WorkloadApiX509Svid valid = agent.Svid(TestAgent.Web);
        Assert.Equal(1, agent.Server.PushX509SvidsRaw([valid]));
        await next;

        byte[] validLeaf = FirstCertificate(valid.CertificateChainDer);
        Assert.Equal([validLeaf], applied);
        Assert.Equal(validLeaf, source.GetX509Svid().Certificate.RawData);
        FakeLogRecord discarded = Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == DiscardedEvent);
        Assert.Contains(reason, discarded.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Collector.GetSnapshot(), r => r.Id.Id == FatalEvent);
    }

    public enum BundleReproducer
    {
        JwtKidInvalidUtf8,
        JwtKtyLoneSurrogate,
        JwtKeysNameOneTrustDomainTwice,
        X509KeysNameOneTrustDomainTwice,
    }

    [Theory]
    [InlineData(BundleReproducer.JwtKidInvalidUtf8, "not valid Unicode")]
    [InlineData(BundleReproducer.JwtKtyLoneSurrogate, "not valid Unicode")]
    [InlineData(BundleReproducer.JwtKeysNameOneTrustDomainTwice, "names trust domain example.org twice")]
    [InlineData(BundleReproducer.X509KeysNameOneTrustDomainTwice, "names trust domain partner.org twice")]
    public async Task BundleSource_Reproducer_IsDiscardedWithLoggedReasonAndNextUpdateArrives(BundleReproducer reproducer, string reason)
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = new LoggerFactory([logs]);
        string own = TestAgent.Domain.Id.ToString();
        agent.Server.SetX509Bundles(new Dictionary<string, byte[]> { [own] = agent.BundleDer });
        agent.ServeJwtBundles();
        WorkloadApiClientOptions clientOptions = agent.ClientOptions();
        clientOptions.LoggerFactory = loggerFactory;
        await using BundleSource source = await BundleSource.CreateAsync(new BundleSourceOptions { ClientOptions = clientOptions }, TestAgent.Timeout());

        if (reproducer == BundleReproducer.X509KeysNameOneTrustDomainTwice)
        {
            Task<X509BundleSet> next = source.WaitForX509UpdateAsync(TestAgent.Timeout());
            agent.Server.PushX509BundlesRaw(new Dictionary<string, byte[]> { [own] = agent.BundleDer, ["partner.org"] = agent.PartnerBundleDer, ["spiffe://partner.org"] = agent.PartnerBundleDer });
            agent.Server.PushX509BundlesRaw(new Dictionary<string, byte[]> { [own] = agent.BundleDer, ["spiffe://partner.org"] = agent.PartnerBundleDer });
            X509BundleSet applied = await next;

            Assert.Equal(2, applied.Count);
            Assert.NotNull(source.GetX509Bundle(TestAgent.Partner));
        }
        else
        {
            Dictionary<string, byte[]> broken = reproducer switch
            {
                BundleReproducer.JwtKidInvalidUtf8 => new() { [own] = MalformedInputs.JwksWithInvalidUtf8Kid() },
                BundleReproducer.JwtKtyLoneSurrogate => new() { [own] = MalformedInputs.JwksWithLoneSurrogateKty },
                _ => new() { [own] = agent.Jwt.CreateJwks(), ["example.org"] = agent.Jwt.CreateJwks() },
            };
            string newKey = agent.Jwt.AddKey("ES384", "key-2");
            Task<JwtBundleSet> next = source.WaitForJwtUpdateAsync(TestAgent.Timeout());
            agent.Server.PushJwtBundlesRaw(broken);
            agent.Server.PushJwtBundlesRaw(new Dictionary<string, byte[]> { [own] = agent.Jwt.CreateJwks() });
            JwtBundleSet applied = await next;

            Assert.True(applied.GetJwtBundle(TestAgent.Domain)!.TryGetJwtAuthority(newKey, out _));
            Assert.True(source.GetJwtBundle(TestAgent.Domain)!.TryGetJwtAuthority(newKey, out _));
        }

        FakeLogRecord discarded = Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == DiscardedEvent);
        Assert.Contains(reason, discarded.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Collector.GetSnapshot(), r => r.Id.Id == FatalEvent);
    }

    [Fact]
    public async Task X509Source_PickerThrows_UpdateDiscardedNextRotationArrivesAndDisposeDoesNotThrow()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        int calls = 0;
        var options = new X509SourceOptions
        {
            ClientOptions = agent.ClientOptions(),
            Picker = svids => Interlocked.Increment(ref calls) == 2 ? throw new InvalidOperationException("picker bug") : svids[0],
        };
        X509Source source = await X509Source.CreateAsync(options, TestAgent.Timeout());
        try
        {
            Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
            agent.Server.PushX509SvidsRaw([agent.Svid(TestAgent.Web)]);
            WorkloadApiX509Svid valid = agent.Svid(TestAgent.Web);
            agent.Server.PushX509SvidsRaw([valid]);
            await next;

            Assert.Equal(FirstCertificate(valid.CertificateChainDer), source.GetX509Svid().Certificate.RawData);
        }
        finally
        {
            await source.DisposeAsync();
        }
    }

    [Fact]
    public async Task WatchX509Context_WatcherThrows_FaultLoggedStreamReopenedAndWatchEndsCleanly()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = new LoggerFactory([logs]);
        agent.Serve(agent.Svid(TestAgent.Web));
        WorkloadApiClientOptions clientOptions = agent.ClientOptions();
        clientOptions.LoggerFactory = loggerFactory;
        await using WorkloadApiClient client = WorkloadApiClient.Create(clientOptions);
        var watcher = new ThrowOnceWatcher();
        using var stop = new CancellationTokenSource();

        Task watching = client.WatchX509ContextAsync(watcher, stop.Token);
        X509Context second = await watcher.Second.Task.WaitAsync(TestAgent.Timeout());
        second.Dispose();
        await stop.CancelAsync();
        await watching.WaitAsync(TestAgent.Timeout());

        Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == WatchFaultedEvent && r.Exception is InvalidOperationException);
        Assert.Contains(watcher.Errors, e => e.Kind == WorkloadApiErrorKind.Other && e.InnerException is InvalidOperationException);
        Assert.True(agent.Server.Calls.Count(c => c.Method == WorkloadApiMethod.FetchX509Svid) >= 2, "the stream is reopened");
    }

    [Fact]
    public async Task WatchX509ContextAsyncEnumerable_ClientDisposed_EndsWithWorkloadApiExceptionInsteadOfHanging()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());

        async Task ReadAllAsync()
        {
            await foreach (X509Context context in client.WatchX509ContextAsync(CancellationToken.None))
            {
                context.Dispose();
                await client.DisposeAsync();
            }
        }

        Task reading = ReadAllAsync();
        Exception? ended = await Record.ExceptionAsync(() => reading.WaitAsync(TestAgent.Timeout()));

        Assert.True(ended is null or WorkloadApiException, $"ended with {ended}");
    }

    [Fact]
    public async Task X509Source_ClientDisposedUnderIt_SourceDisposeDoesNotThrow()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());
        X509Source source = await X509Source.CreateAsync(new X509SourceOptions { Client = client }, TestAgent.Timeout());
        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());

        await client.DisposeAsync();
        WorkloadApiException ended = await Assert.ThrowsAsync<WorkloadApiException>(() => next);
        await source.DisposeAsync();

        Assert.Contains("disposed", ended.Message, StringComparison.Ordinal);
    }

    private static byte[] FirstCertificate(byte[] chainDer)
    {
        using var leaf = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(chainDer);
        return leaf.RawData;
    }

    private sealed class ThrowOnceWatcher : IWorkloadApiWatcher<X509Context>
    {
        private int _updates;

        public TaskCompletionSource<X509Context> Second { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public System.Collections.Concurrent.ConcurrentQueue<WorkloadApiException> Errors { get; } = new();

        public void OnUpdate(X509Context update)
        {
            if (Interlocked.Increment(ref _updates) == 1)
            {
                update.Dispose();
                throw new InvalidOperationException("watcher bug");
            }

            if (!Second.TrySetResult(update))
            {
                update.Dispose();
            }
        }

        public void OnError(WorkloadApiException exception) => Errors.Enqueue(exception);
    }
}

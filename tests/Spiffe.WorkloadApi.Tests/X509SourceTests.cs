using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>X509Source against a real gRPC Workload API on a Unix socket (SPIFFE-RULES.md A7).</summary>
public sealed class X509SourceTests
{
    private static byte[] Leaf(WorkloadApiX509Svid message)
    {
        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(message.CertificateChainDer);
        return leaf.RawData;
    }

    private static byte[] Presented(X509Source source) => source.GetX509Svid().Certificate.RawData;

    [Fact]
    public async Task CreateAsync_AgentServesSvid_ReturnsValidatedSvidWithIntermediateAndBundle()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid a = agent.Svid(TestAgent.Web);
        agent.Serve(a);

        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        X509Svid svid = source.GetX509Svid();
        Assert.Equal(TestAgent.Web, svid.Id);
        Assert.Equal(Leaf(a), svid.Certificate.RawData);
        Assert.True(svid.Certificate.HasPrivateKey);
        Assert.Single(svid.Intermediates);
        Assert.NotNull(source.GetX509Bundle(TestAgent.Domain));
        Assert.Null(source.GetX509Bundle(TestAgent.Partner));
    }

    [Fact]
    public async Task Rotation_PushedSvid_ReachesReadersAndUpdatedEvent()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        var seen = new List<SpiffeId>();
        source.Updated += (_, e) => seen.Add(e.Context.DefaultSvid.Id);

        WorkloadApiX509Svid b = agent.Svid(TestAgent.Web);
        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Serve(b);
        X509Context context = await next;

        Assert.Equal(Leaf(b), context.DefaultSvid.Certificate.RawData);
        Assert.Equal(Leaf(b), Presented(source));
        Assert.Equal([TestAgent.Web], seen);
    }

    [Fact]
    public async Task AgentRestart_SameSocket_KeepsLastSvidThenRecovers()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid a = agent.Svid(TestAgent.Web);
        agent.Serve(a);
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        await agent.Server.StopAsync();
        agent.Server.ClearCalls();
        Assert.Equal(Leaf(a), Presented(source)); // the last good SVID stays in force while the agent is away

        WorkloadApiX509Svid b = agent.Svid(TestAgent.Web);
        agent.Serve(b);
        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        await agent.Server.RestartAsync();
        await next;

        Assert.Equal(Leaf(b), Presented(source));
    }

    [Fact]
    public async Task Unavailable3Times_ThenSuccess_RecoversWithBackoffGaps()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        agent.Server.InjectError(WorkloadApiMethod.FetchX509Svid, StatusCode.Unavailable, 3);

        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        RecordedCall[] calls = [.. agent.Server.Calls.Where(c => c.Method == WorkloadApiMethod.FetchX509Svid)];
        Assert.Equal(4, calls.Length);
        for (int i = 1; i < calls.Length; i++)
        {
            TimeSpan gap = calls[i].ReceivedAt - calls[i - 1].ReceivedAt;
            Assert.True(gap >= TimeSpan.FromMilliseconds(50), $"retry {i} came after {gap.TotalMilliseconds} ms");
        }
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument, WorkloadApiErrorKind.InvalidArgument)]
    [InlineData(StatusCode.Unimplemented, WorkloadApiErrorKind.Unimplemented)]
    public async Task NonRetryableStatus_CreateAsyncFailsWithItAfterOneCall(StatusCode status, WorkloadApiErrorKind kind)
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        agent.Server.InjectError(WorkloadApiMethod.FetchX509Svid, status, 100, "no such thing");

        WorkloadApiException e = await Assert.ThrowsAsync<WorkloadApiException>(() =>
            X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout()));

        Assert.Equal(kind, e.Kind);
        Assert.Contains($"answered {status}: no such thing", e.Message, StringComparison.Ordinal);
        Assert.InRange(agent.Server.Calls.Count(c => c.Method == WorkloadApiMethod.FetchX509Svid), 1, 2);
    }

    public enum Breakage
    {
        NoSvids,
        EmptySpiffeId,
        EmptyChain,
        EmptyKey,
        EmptyBundle,
        GarbageDer,
        KeyDoesNotMatchLeaf,
        LeafIsCa,
        TwoUriSans,
        SpiffeIdDiffersFromCertificate,
        SignedByAnotherCa,
        Expired,
        BundleIsPem,
    }

    [Theory]
    [InlineData(Breakage.NoSvids)]
    [InlineData(Breakage.EmptySpiffeId)]
    [InlineData(Breakage.EmptyChain)]
    [InlineData(Breakage.EmptyKey)]
    [InlineData(Breakage.EmptyBundle)]
    [InlineData(Breakage.GarbageDer)]
    [InlineData(Breakage.KeyDoesNotMatchLeaf)]
    [InlineData(Breakage.LeafIsCa)]
    [InlineData(Breakage.TwoUriSans)]
    [InlineData(Breakage.SpiffeIdDiffersFromCertificate)]
    [InlineData(Breakage.SignedByAnotherCa)]
    [InlineData(Breakage.Expired)]
    [InlineData(Breakage.BundleIsPem)]
    public async Task MalformedMessage_IsDiscardedAndPreviousSvidKept(Breakage breakage)
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid a = agent.Svid(TestAgent.Web);
        agent.Serve(a);
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        var presentedAfterEachUpdate = new List<byte[]>();
        source.Updated += (_, e) => presentedAfterEachUpdate.Add(e.Context.DefaultSvid.Certificate.RawData);

        using var otherCa = TestCertificateAuthority.Create(TestAgent.Domain);
        WorkloadApiX509Svid valid = agent.Svid(TestAgent.Web);
        WorkloadApiX509Svid[] broken = breakage switch
        {
            Breakage.NoSvids => [],
            Breakage.EmptySpiffeId => [valid with { SpiffeId = string.Empty }],
            Breakage.EmptyChain => [valid with { CertificateChainDer = [] }],
            Breakage.EmptyKey => [valid with { PrivateKeyPkcs8Der = [] }],
            Breakage.EmptyBundle => [valid with { BundleDer = [] }],
            Breakage.GarbageDer => [valid with { CertificateChainDer = [0x30, 0x03, 0x01, 0x02, 0x03] }],
            Breakage.KeyDoesNotMatchLeaf => [agent.Svid(TestAgent.Web, options: new TestX509SvidOptions { WrongPrivateKey = true })],
            Breakage.LeafIsCa => [agent.Svid(TestAgent.Web, options: new TestX509SvidOptions { CertificateAuthority = true })],
            Breakage.TwoUriSans => [agent.Svid(TestAgent.Web, options: new TestX509SvidOptions { UriSans = [TestAgent.Web.ToString(), TestAgent.Db.ToString()] })],
            Breakage.SpiffeIdDiffersFromCertificate => [valid with { SpiffeId = TestAgent.Db.ToString() }],
            Breakage.SignedByAnotherCa => [FromOtherCa(otherCa, agent)],
            Breakage.Expired => [agent.Svid(TestAgent.Web, options: new TestX509SvidOptions { NotBefore = DateTimeOffset.UtcNow.AddHours(-2), NotAfter = DateTimeOffset.UtcNow.AddHours(-1) })],
            Breakage.BundleIsPem => [valid with { BundleDer = System.Text.Encoding.ASCII.GetBytes(agent.Ca.CreateX509Bundle().ToPem()) }],
            _ => throw new ArgumentOutOfRangeException(nameof(breakage)),
        };

        // The broken message and then a good one go down the same stream, in order.
        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        Assert.Equal(1, agent.Server.PushX509SvidsRaw(broken));
        WorkloadApiX509Svid b = agent.Svid(TestAgent.Web);
        Assert.Equal(1, agent.Server.PushX509SvidsRaw([b]));
        await next;

        Assert.Single(presentedAfterEachUpdate);
        Assert.Equal(Leaf(b), presentedAfterEachUpdate[0]);
        Assert.Equal(Leaf(b), Presented(source));
    }

    private static WorkloadApiX509Svid FromOtherCa(TestCertificateAuthority otherCa, TestAgent agent)
    {
        TestX509SvidMaterial material = otherCa.CreateX509SvidMaterial(TestAgent.Web);
        return new WorkloadApiX509Svid(TestAgent.Web.ToString(), material.ChainDer, material.PrivateKeyPkcs8, agent.BundleDer);
    }

    [Fact]
    public async Task FederatedBundle_ThatDisappears_IsNoLongerTrusted()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid a = agent.Svid(TestAgent.Web);
        agent.Server.SetX509Svids([a], new Dictionary<string, byte[]> { ["spiffe://partner.org"] = agent.PartnerBundleDer });
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        Assert.Equal(agent.PartnerCa.RootCertificate.RawData, source.GetX509Bundle(TestAgent.Partner)!.X509Authorities[0].RawData);

        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Server.SetX509Svids([a]);
        await next;

        Assert.Null(source.GetX509Bundle(TestAgent.Partner));
        Assert.NotNull(source.GetX509Bundle(TestAgent.Domain));
    }

    [Fact]
    public async Task PermissionDenied_WithdrawsSvidUntilGrantedAgain()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        agent.Server.SetNoIdentity();
        agent.Server.EndStreams(StatusCode.PermissionDenied, "no identity issued", WorkloadApiMethod.FetchX509Svid);
        await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 2, TestAgent.Timeout());

        WorkloadApiException e = Assert.Throws<WorkloadApiException>(() => source.GetX509Svid());
        Assert.Equal(WorkloadApiErrorKind.PermissionDenied, e.Kind);
        Assert.Contains("denied this workload an identity", e.Message, StringComparison.Ordinal);
        Assert.Null(source.GetX509Bundle(TestAgent.Domain));

        WorkloadApiX509Svid granted = agent.Svid(TestAgent.Web);
        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Serve(granted);
        await next;
        Assert.Equal(Leaf(granted), Presented(source));
    }

    [Fact]
    public async Task StreamEndedCleanly_IsReopenedAfterBackoff()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        RecordedCall first = await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 1, TestAgent.Timeout());

        agent.Server.EndStreams(StatusCode.OK);
        DateTimeOffset ended = DateTimeOffset.UtcNow;
        RecordedCall second = await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 2, TestAgent.Timeout());

        Assert.True(second.ReceivedAt - ended >= TimeSpan.FromMilliseconds(50), "a cleanly ended stream must not be reopened in a tight loop");

        // The reopened stream first re-sends the current state; a later push arrives on it too.
        WorkloadApiX509Svid b = agent.Svid(TestAgent.Web);
        agent.Serve(b);
        for (int updates = 0; updates < 3; updates++)
        {
            Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
            if (Leaf(b).AsSpan().SequenceEqual(Presented(source)))
            {
                break;
            }

            await next;
        }

        Assert.Equal(Leaf(b), Presented(source));
        Assert.True(second.ReceivedAt > first.ReceivedAt);
    }

    [Fact]
    public async Task Hints_DefaultIsFirst_HintSelectsFirstMatch()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid web = agent.Svid(TestAgent.Web, hint: "external");
        WorkloadApiX509Svid db = agent.Svid(TestAgent.Db, hint: "internal");
        WorkloadApiX509Svid dbDuplicate = agent.Svid(TestAgent.Db, hint: "internal");
        agent.Serve(web, db, dbDuplicate);

        await using X509Source byDefault = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using X509Source byHint = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions(), Hint = "internal" }, TestAgent.Timeout());
        await using X509Source byPicker = await X509Source.CreateAsync(
            new X509SourceOptions { ClientOptions = agent.ClientOptions(), Picker = svids => svids[^1] }, TestAgent.Timeout());

        Assert.Equal(Leaf(web), Presented(byDefault));
        Assert.Equal(Leaf(db), Presented(byHint));
        Assert.Equal(Leaf(dbDuplicate), Presented(byPicker));
        Assert.Equal(3, byDefault.GetX509Context().Svids.Count);
    }

    [Fact]
    public async Task Hint_Over1024Bytes_IsNotSupportedButSvidStaysUsable()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        string longest = new('h', 1024);
        agent.Serve(agent.Svid(TestAgent.Web, hint: longest + "x"), agent.Svid(TestAgent.Db, hint: longest));

        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        X509Context context = source.GetX509Context();
        Assert.Null(context.Svids[0].Hint);
        Assert.Equal(TestAgent.Web, source.GetX509Svid().Id);
        Assert.Equal(TestAgent.Db, context.FindByHint(longest)!.Id);
        Assert.Null(context.FindByHint(longest + "x"));
    }

    [Fact]
    public async Task CreateAsync_NoAgent_TimeoutNamesTheRootCause()
    {
        string directory = Directory.CreateTempSubdirectory("spiffe-noagent-").FullName;
        string socketPath = Path.Combine(directory, "agent.sock");
        try
        {
            // A socket file that nobody listens on: connecting is refused.
            using (var bound = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
            {
                bound.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
                WorkloadApiException refused = await Assert.ThrowsAsync<WorkloadApiException>(() => X509Source.CreateAsync(
                    new X509SourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = "unix://" + socketPath }, StartTimeout = TimeSpan.FromMilliseconds(700) }));
                Assert.Contains($"cannot connect to the Workload API at unix://{socketPath}: connection refused", refused.Message, StringComparison.Ordinal);
                Assert.Contains("within 0.7 s", refused.Message, StringComparison.Ordinal);
            }

            File.Delete(socketPath);
            WorkloadApiException missing = await Assert.ThrowsAsync<WorkloadApiException>(() => X509Source.CreateAsync(
                new X509SourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = "unix://" + socketPath }, StartTimeout = TimeSpan.FromMilliseconds(700) }));
            Assert.Contains($"cannot connect to the Workload API at unix://{socketPath}", missing.Message, StringComparison.Ordinal);
            Assert.Equal(WorkloadApiErrorKind.Unavailable, missing.Kind);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task InvalidAddress_FailsBeforeAnyConnection()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));

        WorkloadApiException e = await Assert.ThrowsAsync<WorkloadApiException>(() => X509Source.CreateAsync(
            new X509SourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = "unix://localhost" + agent.Server.SocketPath } }));

        Assert.Equal(WorkloadApiErrorKind.Configuration, e.Kind);
        Assert.Empty(agent.Server.Calls);
    }

    [Fact]
    public async Task Tcp_EndToEnd()
    {
        await using TestAgent agent = await TestAgent.StartAsync(tcp: true);
        agent.Serve(agent.Svid(TestAgent.Web));
        Assert.StartsWith("tcp://127.0.0.1:", agent.Server.Address, StringComparison.Ordinal);

        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        Assert.Equal(TestAgent.Web, source.GetX509Svid().Id);
    }

    [Fact]
    public async Task DisposeAsync_IsIdempotentAndStopsHandingOutSvids()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        await source.DisposeAsync();
        await source.DisposeAsync();

        Assert.Throws<WorkloadApiException>(() => source.GetX509Svid());
        Assert.Null(source.GetX509Bundle(TestAgent.Domain));
    }

    [Fact]
    public async Task SharedClient_IsNotDisposedBySource()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());

        X509Source source = await X509Source.CreateAsync(new X509SourceOptions { Client = client }, TestAgent.Timeout());
        await source.DisposeAsync();

        using X509Context context = await client.FetchX509ContextAsync(TestAgent.Timeout());
        Assert.Equal(TestAgent.Web, context.DefaultSvid.Id);
    }
}

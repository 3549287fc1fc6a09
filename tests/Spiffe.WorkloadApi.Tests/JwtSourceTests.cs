using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>JwtSource: bundles from the stream, JWT-SVIDs cached per audience set and refreshed before half their lifetime.</summary>
public sealed class JwtSourceTests
{
    [Fact]
    public async Task GetJwtSvid_CachedUntilHalfLifetime_ThenRefreshed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using TestAgent agent = await TestAgent.StartAsync(timeProvider: time);
        agent.ServeJwtBundles();
        int minted = 0;
        agent.Server.SetJwtSvidMinter(request =>
        {
            Interlocked.Increment(ref minted);
            return [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))];
        });
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions(time) }, TestAgent.Timeout());

        JwtSvid first = await source.GetJwtSvidAsync(new JwtSvidRequest(["a", "b"]));
        JwtSvid again = await source.GetJwtSvidAsync(new JwtSvidRequest(["b", "a"]));
        time.Advance(TimeSpan.FromMinutes(4));
        JwtSvid beforeHalf = await source.GetJwtSvidAsync(new JwtSvidRequest(["a", "b"]));
        Assert.Equal(1, minted);
        Assert.Same(first, again);
        Assert.Same(first, beforeHalf);

        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        JwtSvid refreshed = await source.GetJwtSvidAsync(new JwtSvidRequest(["a", "b"]));
        Assert.Equal(2, minted);
        Assert.NotSame(first, refreshed);
        Assert.True(refreshed.ExpiresAt > first.ExpiresAt);

        JwtSvid other = await source.GetJwtSvidAsync(new JwtSvidRequest(["c"]));
        Assert.Equal(3, minted);
        Assert.Equal(["c"], other.Audience);
    }

    [Fact]
    public async Task GetJwtSvid_AfterAgentDeniesWorkload_NeverReturnsCachedToken()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        agent.Server.SetJwtSvidMinter(request =>
            [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))]);
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await source.GetJwtSvidAsync(new JwtSvidRequest(["backend"]));

        agent.Server.SetNoIdentity();
        agent.Server.EndStreams(StatusCode.PermissionDenied, "no identity issued", WorkloadApiMethod.FetchJwtBundles);
        await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchJwtBundles, 2, TestAgent.Timeout());

        WorkloadApiException e = await Assert.ThrowsAsync<WorkloadApiException>(async () => await source.GetJwtSvidAsync(new JwtSvidRequest(["backend"])));
        Assert.Equal(WorkloadApiErrorKind.PermissionDenied, e.Kind);
        Assert.Null(source.GetJwtBundle(TestAgent.Domain));
    }

    [Fact]
    public async Task GetJwtSvid_DeniedOnFetch_ClearsCacheAndThrows()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using TestAgent agent = await TestAgent.StartAsync(timeProvider: time);
        agent.ServeJwtBundles();
        agent.Server.SetJwtSvidMinter(request =>
            [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))]);
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions(time) }, TestAgent.Timeout());
        await source.GetJwtSvidAsync(new JwtSvidRequest(["x"]));
        await source.GetJwtSvidAsync(new JwtSvidRequest(["y"]));

        time.Advance(TimeSpan.FromMinutes(6)); // "x" and "y" both due for refresh
        agent.Server.InjectError(WorkloadApiMethod.FetchJwtSvid, StatusCode.PermissionDenied, 1);
        await Assert.ThrowsAsync<WorkloadApiException>(async () => await source.GetJwtSvidAsync(new JwtSvidRequest(["x"])));

        // The denial dropped every cached token: "y" goes back to the agent too.
        int callsBefore = agent.Server.Calls.Count(c => c.Method == WorkloadApiMethod.FetchJwtSvid);
        await source.GetJwtSvidAsync(new JwtSvidRequest(["y"]));
        Assert.Equal(callsBefore + 1, agent.Server.Calls.Count(c => c.Method == WorkloadApiMethod.FetchJwtSvid));
    }

    [Fact]
    public async Task GetJwtSvid_ConcurrentMisses_ShareOneAgentCall()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        using var gate = new ManualResetEventSlim();
        int minted = 0;
        agent.Server.SetJwtSvidMinter(request =>
        {
            Interlocked.Increment(ref minted);
            Assert.True(gate.Wait(TimeSpan.FromSeconds(20))); // hold the answer until every caller has asked
            return [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))];
        });
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        Task<JwtSvid>[] callers = [.. Enumerable.Range(0, 16).Select(i => source.GetJwtSvidAsync(new JwtSvidRequest(i % 2 == 0 ? ["a", "b"] : ["b", "a", "a"])).AsTask())];
        await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchJwtSvid, 1, TestAgent.Timeout());
        gate.Set();
        JwtSvid[] tokens = await Task.WhenAll(callers);

        Assert.Equal(1, Volatile.Read(ref minted));
        Assert.All(tokens, t => Assert.Same(tokens[0], t));
    }

    [Fact]
    public async Task GetJwtSvid_Cached_CompletesSynchronously()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        agent.Server.SetJwtSvidMinter(request =>
            [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))]);
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        JwtSvid first = await source.GetJwtSvidAsync(new JwtSvidRequest(["a"]));

        Task<JwtSvid> again = source.GetJwtSvidAsync(new JwtSvidRequest(["a"])).AsTask();

        Assert.True(again.IsCompletedSuccessfully);
        Assert.Same(first, await again);
    }

    [Fact]
    public async Task GetJwtSvid_OneCallerCancels_SharedFetchStillServesTheOthers()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        using var gate = new ManualResetEventSlim();
        agent.Server.SetJwtSvidMinter(request =>
        {
            Assert.True(gate.Wait(TimeSpan.FromSeconds(20)));
            return [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))];
        });
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        using var cancel = new CancellationTokenSource();

        Task<JwtSvid> impatient = source.GetJwtSvidAsync(new JwtSvidRequest(["a"]), cancel.Token).AsTask();
        Task<JwtSvid> patient = source.GetJwtSvidAsync(new JwtSvidRequest(["a"])).AsTask();
        await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchJwtSvid, 1, TestAgent.Timeout());
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        gate.Set();

        Assert.Equal(TestAgent.Web, (await patient).Id);
        Assert.Equal(1, agent.Server.Calls.Count(c => c.Method == WorkloadApiMethod.FetchJwtSvid));
    }

    [Fact]
    public async Task GetJwtSvid_DefaultRequest_ThrowsArgumentException()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        // Thrown synchronously, before any ValueTask exists.
        Assert.Throws<ArgumentException>(() => { Task<JwtSvid> never = source.GetJwtSvidAsync(default).AsTask(); });
    }

    [Fact]
    public async Task JwtBundles_Rotate_AndValidateTokensLocally()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        string token = agent.Jwt.MintJwtSvid(TestAgent.Web, ["backend"]);
        Assert.Equal(TestAgent.Web, JwtSvid.ParseAndValidate(token, source, ["backend"]).Id);

        using var rotated = new TestJwtAuthority(TestAgent.Domain);
        rotated.AddKey("ES256", "key-2");
        Task next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Server.SetJwtBundles(new Dictionary<string, byte[]> { [TestAgent.Domain.Id.ToString()] = rotated.CreateJwks() });
        await next;

        Assert.ThrowsAny<SpiffeException>(() => JwtSvid.ParseAndValidate(token, source, ["backend"]));
        Assert.Equal(TestAgent.Web, JwtSvid.ParseAndValidate(rotated.MintJwtSvid(TestAgent.Web, ["backend"]), source, ["backend"]).Id);
    }
}

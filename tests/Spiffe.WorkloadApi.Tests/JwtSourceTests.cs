using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>JwtSource: bundles from the stream, JWT-SVIDs cached per audience set and refreshed before half their lifetime.</summary>
public sealed class JwtSourceTests
{
    [Fact]
    public async Task FetchJwtSvid_CachedUntilHalfLifetime_ThenRefreshed()
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

        JwtSvid first = await source.FetchJwtSvidAsync(["a", "b"]);
        JwtSvid again = await source.FetchJwtSvidAsync(["b", "a"]);
        time.Advance(TimeSpan.FromMinutes(4));
        JwtSvid beforeHalf = await source.FetchJwtSvidAsync(["a", "b"]);
        Assert.Equal(1, minted);
        Assert.Same(first, again);
        Assert.Same(first, beforeHalf);

        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        JwtSvid refreshed = await source.FetchJwtSvidAsync(["a", "b"]);
        Assert.Equal(2, minted);
        Assert.NotSame(first, refreshed);
        Assert.True(refreshed.ExpiresAt > first.ExpiresAt);

        JwtSvid other = await source.FetchJwtSvidAsync(["c"]);
        Assert.Equal(3, minted);
        Assert.Equal(["c"], other.Audience);
    }

    [Fact]
    public async Task FetchJwtSvid_AfterAgentDeniesWorkload_NeverReturnsCachedToken()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        agent.Server.SetJwtSvidMinter(request =>
            [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))]);
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await source.FetchJwtSvidAsync(["backend"]);

        agent.Server.SetNoIdentity();
        agent.Server.EndStreams(StatusCode.PermissionDenied, "no identity issued", WorkloadApiMethod.FetchJwtBundles);
        await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchJwtBundles, 2, TestAgent.Timeout());

        WorkloadApiException e = await Assert.ThrowsAsync<WorkloadApiException>(() => source.FetchJwtSvidAsync(["backend"]));
        Assert.Equal(WorkloadApiErrorKind.PermissionDenied, e.Kind);
        Assert.Null(source.GetJwtBundle(TestAgent.Domain));
    }

    [Fact]
    public async Task FetchJwtSvid_DeniedOnFetch_ClearsCacheAndThrows()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using TestAgent agent = await TestAgent.StartAsync(timeProvider: time);
        agent.ServeJwtBundles();
        agent.Server.SetJwtSvidMinter(request =>
            [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))]);
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions(time) }, TestAgent.Timeout());
        await source.FetchJwtSvidAsync(["x"]);
        await source.FetchJwtSvidAsync(["y"]);

        time.Advance(TimeSpan.FromMinutes(6)); // "x" and "y" both due for refresh
        agent.Server.InjectError(WorkloadApiMethod.FetchJwtSvid, StatusCode.PermissionDenied, 1);
        await Assert.ThrowsAsync<WorkloadApiException>(() => source.FetchJwtSvidAsync(["x"]));

        // The denial dropped every cached token: "y" goes back to the agent too.
        int callsBefore = agent.Server.Calls.Count(c => c.Method == WorkloadApiMethod.FetchJwtSvid);
        await source.FetchJwtSvidAsync(["y"]);
        Assert.Equal(callsBefore + 1, agent.Server.Calls.Count(c => c.Method == WorkloadApiMethod.FetchJwtSvid));
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

using Grpc.Core;
using Spiffe.Bundles;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>
/// <c>LastError</c> and <c>LastUpdatedAt</c> of <see cref="JwtSource"/> and <see cref="BundleSource"/>, as
/// <see cref="X509Source"/> has them (what a health check reads): set by a failing watch, cleared by the
/// next valid update.
/// </summary>
public sealed class SourceStatusTests
{
    [Fact]
    public async Task JwtSource_AgentUnreachableThenBack_LastErrorSetThenClearedByUpdate()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        await agent.Server.StopAsync(TestAgent.Timeout());
        await using JwtSource source = JwtSource.Create(new JwtSourceOptions { ClientOptions = agent.ClientOptions() });

        WorkloadApiException thrown = await Assert.ThrowsAsync<WorkloadApiException>(() => source.WaitUntilReadyAsync(TimeSpan.FromMilliseconds(300), TestAgent.Timeout()));
        Assert.Contains("cannot connect", thrown.Message);
        Assert.NotNull(source.LastError);
        Assert.Contains("cannot connect", source.LastError!.Message);
        Assert.Null(source.LastUpdatedAt);

        await agent.Server.RestartAsync(TestAgent.Timeout());
        await source.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), TestAgent.Timeout());

        Assert.Null(source.LastError);
        Assert.NotNull(source.LastUpdatedAt);
    }

    [Fact]
    public async Task JwtSource_StreamEndsAndReconnects_LastErrorClearedAndLastUpdatedAtAdvances()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        await using JwtSource source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        Assert.Null(source.LastError);
        DateTimeOffset first = source.LastUpdatedAt!.Value;

        Task<JwtBundleSet> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Server.InjectError(WorkloadApiMethod.FetchJwtBundles, StatusCode.Unavailable, 1, "agent restarting");
        agent.Server.EndStreams(StatusCode.Unavailable, "agent restarting", WorkloadApiMethod.FetchJwtBundles);
        await next;

        Assert.Null(source.LastError);
        Assert.True(source.LastUpdatedAt >= first);
    }

    [Fact]
    public async Task BundleSource_AgentUnreachableThenBack_LastErrorSetThenClearedByUpdates()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Server.SetX509Bundles(new Dictionary<string, byte[]> { [TestAgent.Domain.Id.ToString()] = agent.BundleDer });
        agent.ServeJwtBundles();
        await agent.Server.StopAsync(TestAgent.Timeout());
        await using BundleSource source = BundleSource.Create(new BundleSourceOptions { ClientOptions = agent.ClientOptions() });

        WorkloadApiException thrown = await Assert.ThrowsAsync<WorkloadApiException>(() => source.WaitUntilReadyAsync(TimeSpan.FromMilliseconds(300), TestAgent.Timeout()));
        Assert.Contains("cannot connect", thrown.Message);
        Assert.NotNull(source.LastError);
        Assert.Null(source.LastUpdatedAt);

        await agent.Server.RestartAsync(TestAgent.Timeout());
        await source.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), TestAgent.Timeout());

        Assert.Null(source.LastError);
        Assert.NotNull(source.LastUpdatedAt);
    }
}

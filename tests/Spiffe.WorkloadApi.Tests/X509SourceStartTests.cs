using Grpc.Core;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary><c>Create</c> + <c>WaitUntilReadyAsync</c> (a source handed out before it is ready) and the status a health check reads.</summary>
public sealed class X509SourceStartTests
{
    [Fact]
    public async Task Create_BeforeFirstSvid_ThrowsNotYetThenServesOnceReady()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        await using X509Source source = X509Source.Create(new X509SourceOptions { ClientOptions = agent.ClientOptions() });
        await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 2, TestAgent.Timeout());

        WorkloadApiException notYet = Assert.Throws<WorkloadApiException>(source.GetX509Svid);
        Assert.Contains("No X509-SVID", notYet.Message);
        Assert.Null(source.LastUpdatedAt);
        Assert.NotNull(source.LastError);

        agent.Serve(agent.Svid(TestAgent.Web));
        await source.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), TestAgent.Timeout());

        Assert.Equal(TestAgent.Web, source.GetX509Svid().Id);
        Assert.NotNull(source.LastUpdatedAt);
        Assert.Null(source.LastError);
    }

    [Fact]
    public async Task WaitUntilReadyAsync_NoAgent_FailsWithRootCauseAndKeepsRetrying()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await agent.Server.StopAsync(TestAgent.Timeout());
        await using X509Source source = X509Source.Create(new X509SourceOptions { ClientOptions = agent.ClientOptions() });

        WorkloadApiException thrown = await Assert.ThrowsAsync<WorkloadApiException>(() => source.WaitUntilReadyAsync(TimeSpan.FromMilliseconds(300), TestAgent.Timeout()));
        Assert.Equal(WorkloadApiErrorKind.Unavailable, thrown.Kind);
        Assert.Contains("cannot connect", thrown.Message);

        // Not disposed by the failed wait: the agent comes back, the source gets its SVID.
        await agent.Server.RestartAsync(TestAgent.Timeout());
        await source.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), TestAgent.Timeout());
        Assert.Equal(TestAgent.Web, source.GetX509Svid().Id);
    }

    [Fact]
    public async Task LastError_ReconnectDeliversUpdate_ClearedAgain()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        Assert.Null(source.LastError);

        // The reconnect's first message (the same SVID) clears it again; wait for that update.
        agent.Server.InjectError(WorkloadApiMethod.FetchX509Svid, StatusCode.Unavailable, 1, "agent restarting");
        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Server.EndStreams(StatusCode.Unavailable, "agent restarting", WorkloadApiMethod.FetchX509Svid);
        await next;

        Assert.Null(source.LastError);
        Assert.Equal(TestAgent.Web, source.GetX509Svid().Id);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>The <c>Spiffe.WorkloadApi</c> ActivitySource: one client span per call and per stream connect (process-wide listener, so serial).</summary>
[Collection(SerialTests.Name)]
public sealed class ActivityTests
{
    [Fact]
    public async Task Sources_StreamConnectAndJwtFetch_RecordClientSpans()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = static s => s.Name == "Spiffe.WorkloadApi",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        agent.ServeJwtBundles();
        agent.Server.SetJwtSvidMinter(r => [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, r.Audiences))]);

        await using (X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout()))
        {
            Activity connect = Assert.Single(stopped, a => a.OperationName == "SpiffeWorkloadAPI/FetchX509SVID" && Mine(a, agent));
            Assert.Equal(ActivityKind.Client, connect.Kind);
            Assert.Equal(ActivityStatusCode.Unset, connect.Status);
            Assert.Equal("FetchX509SVID", connect.GetTagItem("rpc.method"));
            Assert.Equal(agent.Server.Address, connect.GetTagItem("server.address"));
        }

        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await jwt.GetJwtSvidAsync(new JwtSvidRequest(["backend"]), TestAgent.Timeout());
        Assert.Single(stopped, a => a.OperationName == "SpiffeWorkloadAPI/FetchJWTSVID" && Mine(a, agent) && a.Status == ActivityStatusCode.Unset);

        // A failing call: the span carries the error kind and the gRPC status.
        agent.Server.InjectError(WorkloadApiMethod.FetchJwtSvid, StatusCode.PermissionDenied, 1, "not entitled");
        await Assert.ThrowsAsync<WorkloadApiException>(async () => await jwt.GetJwtSvidAsync(new JwtSvidRequest(["other"]), TestAgent.Timeout()));
        Activity failed = Assert.Single(stopped, a => a.OperationName == "SpiffeWorkloadAPI/FetchJWTSVID" && Mine(a, agent) && a.Status == ActivityStatusCode.Error);
        Assert.Equal("PermissionDenied", failed.GetTagItem("error.type"));
        Assert.Equal((int)StatusCode.PermissionDenied, failed.GetTagItem("rpc.grpc.status_code"));
    }

    [Fact]
    public async Task StreamConnect_AgentDown_SpanFailsWithRootCause()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = static s => s.Name == "Spiffe.WorkloadApi",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using TestAgent agent = await TestAgent.StartAsync();
        await agent.Server.StopAsync(TestAgent.Timeout());

        await Assert.ThrowsAsync<WorkloadApiException>(() => X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions(), StartTimeout = TimeSpan.FromMilliseconds(300) }, TestAgent.Timeout()));

        Activity[] connects = [.. stopped.Where(a => a.OperationName == "SpiffeWorkloadAPI/FetchX509SVID" && Mine(a, agent))];
        Assert.NotEmpty(connects);
        Assert.All(connects, a =>
        {
            Assert.Equal(ActivityStatusCode.Error, a.Status);
            Assert.Equal("Unavailable", a.GetTagItem("error.type"));
            Assert.Contains("cannot connect", a.StatusDescription);
        });
    }

    // Other test classes run in parallel and their sources trace too: keep this agent's spans only.
    private static bool Mine(Activity activity, TestAgent agent) => Equals(activity.GetTagItem("server.address"), agent.Server.Address);
}

using Grpc.Core;

namespace Spiffe.Testing.Tests;

public sealed class CallRecordingTests
{
    [Fact]
    public async Task Calls_FetchJwtSvid_RecordsPathMetadataAndRequest()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);
        var headers = new Metadata { { "workload.spiffe.io", "true" }, { "x-test", "42" } };

        await client.Client.FetchJWTSVIDAsync(
            new() { Audience = { "one", "two" }, SpiffeId = "spiffe://example.org/workload" }, headers, cancellationToken: timeout.Token);

        RecordedCall call = Assert.Single(server.Calls);
        Assert.Equal(WorkloadApiMethod.FetchJwtSvid, call.Method);
        Assert.Equal("/SpiffeWorkloadAPI/FetchJWTSVID", call.Path);
        Assert.Equal(["true"], call.GetMetadataValues("workload.spiffe.io"));
        Assert.Equal(["42"], call.GetMetadataValues("X-Test"));
        Assert.Contains(new KeyValuePair<string, string>("x-test", "42"), call.Metadata);
        Assert.Equal(["one", "two"], call.Audiences);
        Assert.Equal("spiffe://example.org/workload", call.SpiffeId);
        Assert.Null(call.Token);
    }

    [Fact]
    public async Task Calls_ValidateJwtSvid_RecordsAudienceAndToken()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);

        await client.Client.ValidateJWTSVIDAsync(new() { Audience = "svc", Svid = "x.y.z" }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);

        RecordedCall call = Assert.Single(server.Calls);
        Assert.Equal("/SpiffeWorkloadAPI/ValidateJWTSVID", call.Path);
        Assert.Equal(["svc"], call.Audiences);
        Assert.Equal("x.y.z", call.Token);
        Assert.Null(call.SpiffeId);
    }

    [Fact]
    public async Task Calls_RejectedCall_IsRecordedWithoutHeader()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        using var client = new WorkloadApiTestClient(server.Address);

        Assert.Equal(StatusCode.InvalidArgument, await client.CallOnceAsync(WorkloadApiMethod.FetchX509Bundles, TestData.NoHeaders, timeout.Token));

        RecordedCall call = Assert.Single(server.Calls);
        Assert.Equal("/SpiffeWorkloadAPI/FetchX509Bundles", call.Path);
        Assert.Empty(call.GetMetadataValues("workload.spiffe.io"));
        Assert.Empty(call.Audiences);
    }

    [Fact]
    public async Task WaitForCallAsync_SecondCallArrivesLater_ReturnsSecondCall()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);
        Task<RecordedCall> second = server.WaitForCallAsync(WorkloadApiMethod.FetchJwtSvid, 2, timeout.Token);

        await client.Client.FetchJWTSVIDAsync(new() { Audience = { "first" } }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.False(second.IsCompleted);
        await client.Client.FetchJWTSVIDAsync(new() { Audience = { "second" } }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);

        Assert.Equal(["second"], (await second).Audiences);
        Assert.Equal(["first"], (await server.WaitForCallAsync(WorkloadApiMethod.FetchJwtSvid, 1, timeout.Token)).Audiences);
    }

    [Fact]
    public async Task WaitForCallAsync_Cancelled_ThrowsOperationCanceled()
    {
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync();
        using var cancellation = new CancellationTokenSource();
        Task<RecordedCall> wait = server.WaitForCallAsync(WorkloadApiMethod.ValidateJwtSvid, 1, cancellation.Token);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }

    [Fact]
    public async Task ClearCalls_AfterCalls_CountingStartsAgain()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);
        await client.CallOnceAsync(WorkloadApiMethod.FetchX509Svid, WorkloadApiTestClient.SecurityHeader, timeout.Token);

        server.ClearCalls();
        Task<RecordedCall> next = server.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 1, timeout.Token);
        Assert.False(next.IsCompleted);
        await client.CallOnceAsync(WorkloadApiMethod.FetchX509Svid, TestData.NoHeaders, timeout.Token);

        Assert.Empty((await next).GetMetadataValues("workload.spiffe.io"));
        Assert.Single(server.Calls);
    }
}

using Grpc.Core;

namespace Spiffe.Testing.Tests;

public sealed class FaultInjectionTests
{
    public static TheoryData<WorkloadApiMethod> AllMethods => new(Enum.GetValues<WorkloadApiMethod>());

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task InjectError_TwoTimes_FailsTwiceThenSucceeds(WorkloadApiMethod method)
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        server.InjectError(method, StatusCode.Unavailable, 2);
        using var client = new WorkloadApiTestClient(server.Address);

        StatusCode first = await client.CallOnceAsync(method, WorkloadApiTestClient.SecurityHeader, timeout.Token);
        StatusCode second = await client.CallOnceAsync(method, WorkloadApiTestClient.SecurityHeader, timeout.Token);
        StatusCode third = await client.CallOnceAsync(method, WorkloadApiTestClient.SecurityHeader, timeout.Token);

        Assert.Equal([StatusCode.Unavailable, StatusCode.Unavailable, StatusCode.OK], [first, second, third]);
        Assert.Equal(3, server.Calls.Count(c => c.Method == method));
    }

    [Fact]
    public async Task InjectError_BeforeHeaderCheck_InjectedStatusWinsAndDetailIsSent()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        server.InjectError(WorkloadApiMethod.FetchJwtSvid, StatusCode.ResourceExhausted, 1, "slow down");
        using var client = new WorkloadApiTestClient(server.Address);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.Client.FetchJWTSVIDAsync(
            new() { Audience = { "a" } }, TestData.NoHeaders, cancellationToken: timeout.Token).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
        Assert.Equal("slow down", exception.Status.Detail);
    }

    [Fact]
    public async Task InjectError_OtherMethod_Unaffected()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        server.InjectError(WorkloadApiMethod.FetchX509Bundles, StatusCode.PermissionDenied, 1);
        using var client = new WorkloadApiTestClient(server.Address);

        Assert.Equal(StatusCode.OK, await client.CallOnceAsync(WorkloadApiMethod.FetchX509Svid, WorkloadApiTestClient.SecurityHeader, timeout.Token));
        Assert.Equal(StatusCode.PermissionDenied, await client.CallOnceAsync(WorkloadApiMethod.FetchX509Bundles, WorkloadApiTestClient.SecurityHeader, timeout.Token));
    }

    [Fact]
    public async Task InjectError_ZeroTimesOrOk_Throws()
    {
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync();

        Assert.Throws<ArgumentOutOfRangeException>(() => server.InjectError(WorkloadApiMethod.FetchX509Svid, StatusCode.Unavailable, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => server.InjectError(WorkloadApiMethod.FetchX509Svid, StatusCode.OK, 1));
    }
}

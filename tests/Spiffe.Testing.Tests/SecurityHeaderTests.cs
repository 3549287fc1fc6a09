using Grpc.Core;

namespace Spiffe.Testing.Tests;

public sealed class SecurityHeaderTests
{
    public static TheoryData<WorkloadApiMethod> AllMethods => new(Enum.GetValues<WorkloadApiMethod>());

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task AnyMethod_SecurityHeaderMissing_InvalidArgument(WorkloadApiMethod method)
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);

        StatusCode status = await client.CallOnceAsync(method, TestData.NoHeaders, timeout.Token);

        Assert.Equal(StatusCode.InvalidArgument, status);
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task AnyMethod_SecurityHeaderValueWrongCase_InvalidArgument(WorkloadApiMethod method)
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);

        StatusCode status = await client.CallOnceAsync(method, new Metadata { { "workload.spiffe.io", "True" } }, timeout.Token);

        Assert.Equal(StatusCode.InvalidArgument, status);
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task AnyMethod_SecurityHeaderPresent_Succeeds(WorkloadApiMethod method)
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);

        StatusCode status = await client.CallOnceAsync(method, WorkloadApiTestClient.SecurityHeader, timeout.Token);

        Assert.Equal(StatusCode.OK, status);
    }

    [Fact]
    public async Task FetchX509Svid_SecurityHeaderMissing_DetailMatchesSpire()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);

        using var call = client.Client.FetchX509SVID(new(), TestData.NoHeaders, cancellationToken: timeout.Token);
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(timeout.Token));

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        Assert.Equal("security header missing from request", exception.Status.Detail);
    }
}

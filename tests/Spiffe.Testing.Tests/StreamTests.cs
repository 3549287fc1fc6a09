using Grpc.Core;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.Testing.Tests;

public sealed class StreamTests
{
    [Fact]
    public async Task FetchX509Svid_StreamOpened_ReceivesFullCurrentState()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        WorkloadApiX509Svid first = TestData.Svid("spiffe://example.org/a", 1, hint: "internal");
        WorkloadApiX509Svid second = TestData.Svid("spiffe://example.org/b", 2);
        server.SetX509Svids([first, second], TestData.Bundles(("spiffe://partner.org", 9)));
        using var client = new WorkloadApiTestClient(server.Address);

        using var call = client.Client.FetchX509SVID(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        X509SVIDResponse response = call.ResponseStream.Current;

        Assert.Equal(2, response.Svids.Count);
        Assert.Equal("spiffe://example.org/a", response.Svids[0].SpiffeId);
        Assert.Equal(first.CertificateChainDer, response.Svids[0].X509Svid.ToByteArray());
        Assert.Equal(first.PrivateKeyPkcs8Der, response.Svids[0].X509SvidKey.ToByteArray());
        Assert.Equal(first.BundleDer, response.Svids[0].Bundle.ToByteArray());
        Assert.Equal("internal", response.Svids[0].Hint);
        Assert.Equal("spiffe://example.org/b", response.Svids[1].SpiffeId);
        Assert.Equal("", response.Svids[1].Hint);
        Assert.Equal([0x30, 9], response.FederatedBundles["spiffe://partner.org"].ToByteArray());
    }

    [Fact]
    public async Task SetX509Svids_StreamOpen_PushesNewFullState()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        server.SetX509Svids([TestData.Svid("spiffe://example.org/a", 1)], TestData.Bundles(("spiffe://partner.org", 9)));
        using var client = new WorkloadApiTestClient(server.Address);
        using var call = client.Client.FetchX509SVID(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));

        server.SetX509Svids([TestData.Svid("spiffe://example.org/b", 2)]);

        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        X509SVIDResponse pushed = call.ResponseStream.Current;
        Assert.Equal("spiffe://example.org/b", Assert.Single(pushed.Svids).SpiffeId);
        Assert.Empty(pushed.FederatedBundles);
    }

    [Fact]
    public async Task SetX509Bundles_StreamOpen_PushesNewFullState()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        server.SetX509Bundles(TestData.Bundles(("spiffe://example.org", 1), ("spiffe://partner.org", 2)));
        using var client = new WorkloadApiTestClient(server.Address);
        using var call = client.Client.FetchX509Bundles(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(2, call.ResponseStream.Current.Bundles.Count);

        server.SetX509Bundles(TestData.Bundles(("spiffe://example.org", 5)));

        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        var bundle = Assert.Single(call.ResponseStream.Current.Bundles);
        Assert.Equal("spiffe://example.org", bundle.Key);
        Assert.Equal([0x30, 5], bundle.Value.ToByteArray());
    }

    [Fact]
    public async Task SetJwtBundles_TwoStreamsOpen_PushReachesBoth()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        server.SetJwtBundles(TestData.Bundles(("spiffe://example.org", 1)));
        using var client = new WorkloadApiTestClient(server.Address);
        using var first = client.Client.FetchJWTBundles(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        using var second = client.Client.FetchJWTBundles(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        await server.WaitForOpenStreamsAsync(WorkloadApiMethod.FetchJwtBundles, 2, timeout.Token);
        Assert.Equal(2, server.GetOpenStreamCount(WorkloadApiMethod.FetchJwtBundles));

        server.SetJwtBundles(TestData.Bundles(("spiffe://other.org", 7)));

        foreach (var call in new[] { first, second })
        {
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal("spiffe://example.org", Assert.Single(call.ResponseStream.Current.Bundles).Key);
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal("spiffe://other.org", Assert.Single(call.ResponseStream.Current.Bundles).Key);
        }
    }

    [Fact]
    public async Task PushX509SvidsRaw_MalformedFields_SentAsIsButNotStored()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        server.SetX509Svids([TestData.Svid("spiffe://example.org/good", 1)]);
        using var client = new WorkloadApiTestClient(server.Address);
        using var call = client.Client.FetchX509SVID(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));

        int reached = server.PushX509SvidsRaw([new WorkloadApiX509Svid("", [], [0xFF, 0xFF], [])]);
        int reachedEmpty = server.PushX509SvidsRaw([]);

        Assert.Equal(1, reached);
        Assert.Equal(1, reachedEmpty);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        X509SVID broken = Assert.Single(call.ResponseStream.Current.Svids);
        Assert.Equal("", broken.SpiffeId);
        Assert.True(broken.X509Svid.IsEmpty);
        Assert.Equal([0xFF, 0xFF], broken.X509SvidKey.ToByteArray());
        Assert.True(broken.Bundle.IsEmpty);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.Empty(call.ResponseStream.Current.Svids);

        using var fresh = client.Client.FetchX509SVID(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await fresh.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal("spiffe://example.org/good", Assert.Single(fresh.ResponseStream.Current.Svids).SpiffeId);
    }

    [Fact]
    public async Task PushJwtBundlesRaw_NoStreamOpen_ReachesNone()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);

        Assert.Equal(0, server.PushJwtBundlesRaw(TestData.Bundles(("spiffe://example.org", 1))));
        Assert.Equal(0, server.PushX509BundlesRaw(new Dictionary<string, byte[]>()));
    }

    [Fact]
    public async Task EndStreams_Unavailable_StreamEndsWithUnavailable()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);
        using var call = client.Client.FetchX509SVID(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));

        server.EndStreams(StatusCode.Unavailable, "agent going away");

        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(StatusCode.Unavailable, exception.StatusCode);
        Assert.Equal("agent going away", exception.Status.Detail);
        Assert.Equal(0, server.GetOpenStreamCount(WorkloadApiMethod.FetchX509Svid));
    }

    [Fact]
    public async Task EndStreams_Ok_StreamEndsCleanlyAndReopenGetsState()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);
        using var call = client.Client.FetchX509Bundles(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));

        server.EndStreams(StatusCode.OK);

        Assert.False(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        using var reopened = client.Client.FetchX509Bundles(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await reopened.ResponseStream.MoveNext(timeout.Token));
        Assert.Single(reopened.ResponseStream.Current.Bundles);
    }

    [Fact]
    public async Task EndStreams_OneMethod_OtherStreamsKeepReceiving()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);
        using var svids = client.Client.FetchX509SVID(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        using var bundles = client.Client.FetchJWTBundles(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await svids.ResponseStream.MoveNext(timeout.Token));
        Assert.True(await bundles.ResponseStream.MoveNext(timeout.Token));

        server.EndStreams(StatusCode.Unavailable, method: WorkloadApiMethod.FetchX509Svid);
        server.SetJwtBundles(TestData.Bundles(("spiffe://other.org", 4)));

        var exception = await Assert.ThrowsAsync<RpcException>(() => svids.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(StatusCode.Unavailable, exception.StatusCode);
        Assert.True(await bundles.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal("spiffe://other.org", Assert.Single(bundles.ResponseStream.Current.Bundles).Key);
    }

    [Fact]
    public async Task WaitForOpenStreamsAsync_UnaryMethod_Throws()
    {
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync();

        Assert.Throws<ArgumentException>(() => { _ = server.WaitForOpenStreamsAsync(WorkloadApiMethod.FetchJwtSvid, 1); });
        Assert.Equal(0, server.GetOpenStreamCount(WorkloadApiMethod.ValidateJwtSvid));
    }
}

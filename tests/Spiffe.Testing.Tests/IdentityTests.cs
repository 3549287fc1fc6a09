using Grpc.Core;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.Testing.Tests;

public sealed class IdentityTests
{
    public static TheoryData<WorkloadApiMethod> FetchMethods => new(
        WorkloadApiMethod.FetchX509Svid,
        WorkloadApiMethod.FetchX509Bundles,
        WorkloadApiMethod.FetchJwtSvid,
        WorkloadApiMethod.FetchJwtBundles);

    [Theory]
    [MemberData(nameof(FetchMethods))]
    public async Task FetchMethod_NothingSet_PermissionDenied(WorkloadApiMethod method)
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        using var client = new WorkloadApiTestClient(server.Address);

        StatusCode status = await client.CallOnceAsync(method, WorkloadApiTestClient.SecurityHeader, timeout.Token);

        Assert.Equal(StatusCode.PermissionDenied, status);
    }

    [Theory]
    [MemberData(nameof(FetchMethods))]
    public async Task FetchMethod_AfterSetNoIdentity_PermissionDenied(WorkloadApiMethod method)
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        server.SetNoIdentity();
        using var client = new WorkloadApiTestClient(server.Address);

        StatusCode status = await client.CallOnceAsync(method, WorkloadApiTestClient.SecurityHeader, timeout.Token);

        Assert.Equal(StatusCode.PermissionDenied, status);
    }

    [Fact]
    public async Task SetNoIdentity_StreamOpen_EndsWithPermissionDenied()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);
        using var call = client.Client.FetchX509SVID(new(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));

        server.SetNoIdentity();

        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(StatusCode.PermissionDenied, exception.StatusCode);
        Assert.Equal("no identity issued", exception.Status.Detail);
    }

    [Fact]
    public async Task FetchX509Svid_IdentityRestoredAfterNoIdentity_Succeeds()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        server.SetNoIdentity();
        using var client = new WorkloadApiTestClient(server.Address);
        Assert.Equal(StatusCode.PermissionDenied, await client.CallOnceAsync(WorkloadApiMethod.FetchX509Svid, WorkloadApiTestClient.SecurityHeader, timeout.Token));

        server.SetX509Svids([TestData.Svid("spiffe://example.org/back", 1)]);

        Assert.Equal(StatusCode.OK, await client.CallOnceAsync(WorkloadApiMethod.FetchX509Svid, WorkloadApiTestClient.SecurityHeader, timeout.Token));
    }

    [Fact]
    public async Task FetchJwtSvid_NoAudience_InvalidArgument()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);

        var exception = await Assert.ThrowsAsync<RpcException>(
            () => client.Client.FetchJWTSVIDAsync(new JWTSVIDRequest(), WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
    }

    [Fact]
    public async Task FetchJwtSvid_MinterSet_GetsAudiencesAndSpiffeIdAndItsSvidsAreReturned()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        JwtSvidRequestInfo? seen = null;
        server.SetJwtSvidMinter(request =>
        {
            seen = request;
            return [new WorkloadApiJwtSvid(request.SpiffeId!, "token-for-" + string.Join("+", request.Audiences), "external")];
        });
        using var client = new WorkloadApiTestClient(server.Address);

        JWTSVIDResponse response = await client.Client.FetchJWTSVIDAsync(
            new JWTSVIDRequest { Audience = { "a", "b" }, SpiffeId = "spiffe://example.org/x" },
            WorkloadApiTestClient.SecurityHeader,
            cancellationToken: timeout.Token);

        Assert.NotNull(seen);
        Assert.Equal(["a", "b"], seen.Audiences);
        Assert.Equal("spiffe://example.org/x", seen.SpiffeId);
        JWTSVID svid = Assert.Single(response.Svids);
        Assert.Equal("spiffe://example.org/x", svid.SpiffeId);
        Assert.Equal("token-for-a+b", svid.Svid);
        Assert.Equal("external", svid.Hint);
    }

    [Fact]
    public async Task FetchJwtSvid_FixedListWithRequestedId_ReturnsOnlyThatId()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        server.SetJwtSvids([new WorkloadApiJwtSvid("spiffe://example.org/a", "ta"), new WorkloadApiJwtSvid("spiffe://example.org/b", "tb")]);
        using var client = new WorkloadApiTestClient(server.Address);

        JWTSVIDResponse all = await client.Client.FetchJWTSVIDAsync(
            new JWTSVIDRequest { Audience = { "a" } }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        JWTSVIDResponse onlyB = await client.Client.FetchJWTSVIDAsync(
            new JWTSVIDRequest { Audience = { "a" }, SpiffeId = "spiffe://example.org/b" }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => client.Client.FetchJWTSVIDAsync(
            new JWTSVIDRequest { Audience = { "a" }, SpiffeId = "spiffe://example.org/c" }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token).ResponseAsync);

        Assert.Equal(["ta", "tb"], all.Svids.Select(s => s.Svid));
        Assert.Equal("tb", Assert.Single(onlyB.Svids).Svid);
        Assert.Equal(StatusCode.PermissionDenied, unknown.StatusCode);
    }

    [Theory]
    [InlineData("", "token")]
    [InlineData("aud", "")]
    public async Task ValidateJwtSvid_AudienceOrSvidMissing_InvalidArgument(string audience, string token)
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        TestData.SetFullState(server);
        using var client = new WorkloadApiTestClient(server.Address);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.Client.ValidateJWTSVIDAsync(
            new ValidateJWTSVIDRequest { Audience = audience, Svid = token }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
    }

    [Fact]
    public async Task ValidateJwtSvid_ValidatorAccepts_ReturnsSpiffeIdAndClaims()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        (string Token, string Audience)? seen = null;
        server.SetJwtSvidValidator((token, audience) =>
        {
            seen = (token, audience);
            return ("spiffe://example.org/caller", new Dictionary<string, object?>
            {
                ["sub"] = "spiffe://example.org/caller",
                ["aud"] = new[] { "svc" },
                ["exp"] = 1_900_000_000L,
                ["extra"] = null,
            });
        });
        using var client = new WorkloadApiTestClient(server.Address);

        ValidateJWTSVIDResponse response = await client.Client.ValidateJWTSVIDAsync(
            new ValidateJWTSVIDRequest { Audience = "svc", Svid = "a.b.c" }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token);

        Assert.Equal(("a.b.c", "svc"), seen);
        Assert.Equal("spiffe://example.org/caller", response.SpiffeId);
        Assert.Equal("spiffe://example.org/caller", response.Claims.Fields["sub"].StringValue);
        Assert.Equal("svc", Assert.Single(response.Claims.Fields["aud"].ListValue.Values).StringValue);
        Assert.Equal(1_900_000_000d, response.Claims.Fields["exp"].NumberValue);
        Assert.Equal(Google.Protobuf.WellKnownTypes.Value.KindOneofCase.NullValue, response.Claims.Fields["extra"].KindCase);
    }

    [Fact]
    public async Task ValidateJwtSvid_ValidatorThrows_InvalidArgumentWithReason()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        server.SetJwtSvidValidator((_, _) => throw new InvalidOperationException("token has expired"));
        using var client = new WorkloadApiTestClient(server.Address);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.Client.ValidateJWTSVIDAsync(
            new ValidateJWTSVIDRequest { Audience = "svc", Svid = "a.b.c" }, WorkloadApiTestClient.SecurityHeader, cancellationToken: timeout.Token).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        Assert.Contains("token has expired", exception.Status.Detail);
    }

    [Fact]
    public async Task ValidateJwtSvid_NoValidator_InvalidArgument()
    {
        using var timeout = new CancellationTokenSource(TestData.Timeout);
        await using WorkloadApiServer server = await WorkloadApiServer.StartAsync(cancellationToken: timeout.Token);
        using var client = new WorkloadApiTestClient(server.Address);

        StatusCode status = await client.CallOnceAsync(WorkloadApiMethod.ValidateJwtSvid, WorkloadApiTestClient.SecurityHeader, timeout.Token);

        Assert.Equal(StatusCode.InvalidArgument, status);
    }
}

using Grpc.Core;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>The raw client: the security header on every RPC, one-shot fetches, JWT calls (SPIFFE-RULES.md A6, A7).</summary>
public sealed class WorkloadApiClientTests
{
    [Fact]
    public async Task EveryRpc_CarriesSecurityHeaderMergedWithCallerMetadata()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        agent.Server.SetX509Bundles(new Dictionary<string, byte[]> { [TestAgent.Domain.Id.ToString()] = agent.BundleDer });
        agent.ServeJwtBundles();
        string token = agent.Jwt.MintJwtSvid(TestAgent.Web, ["backend"]);
        agent.Server.SetJwtSvids([new WorkloadApiJwtSvid(TestAgent.Web.ToString(), token)]);
        agent.Server.SetJwtSvidValidator((t, audience) => (TestAgent.Web.ToString(), new Dictionary<string, object?> { ["aud"] = audience }));
        WorkloadApiClientOptions options = agent.ClientOptions();
        options.Metadata.Add(new("x-tenant", "blue"));
        options.Metadata.Add(new("workload.spiffe.io", "false")); // never overrides the required value
        await using WorkloadApiClient client = WorkloadApiClient.Create(options);

        using (await client.FetchX509ContextAsync(TestAgent.Timeout()))
        {
        }

        X509BundleSet x509Bundles = await client.FetchX509BundlesAsync(TestAgent.Timeout());
        JwtBundleSet jwtBundles = await client.FetchJwtBundlesAsync(TestAgent.Timeout());
        JwtSvid fetched = await client.FetchJwtSvidAsync(["backend"], cancellationToken: TestAgent.Timeout());
        JwtSvid validated = await client.ValidateJwtSvidAsync(token, "backend", TestAgent.Timeout());

        Assert.Equal(5, agent.Server.Calls.Select(c => c.Method).Distinct().Count());
        foreach (RecordedCall call in agent.Server.Calls)
        {
            Assert.Equal(["true"], call.GetMetadataValues("workload.spiffe.io"));
            Assert.Equal(["blue"], call.GetMetadataValues("x-tenant"));
            Assert.StartsWith("/SpiffeWorkloadAPI/", call.Path, StringComparison.Ordinal);
        }

        Assert.NotNull(x509Bundles.GetX509Bundle(TestAgent.Domain));
        Assert.NotNull(jwtBundles.GetJwtBundle(TestAgent.Domain));
        Assert.Equal(TestAgent.Web, fetched.Id);
        Assert.Equal(token, validated.Token);
        foreach (X509Bundle bundle in x509Bundles)
        {
            bundle.Dispose();
        }
    }

    [Fact]
    public async Task FetchJwtSvid_PassesAudiencesAndSubjectExactly()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        agent.Server.SetJwtSvidMinter(request =>
            [new WorkloadApiJwtSvid(request.SpiffeId ?? TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(SpiffeId.Parse(request.SpiffeId ?? TestAgent.Web.ToString()), request.Audiences), "internal")]);
        await using WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());

        JwtSvid svid = await client.FetchJwtSvidAsync(["a", "b", "a"], TestAgent.Db, TestAgent.Timeout());

        RecordedCall call = Assert.Single(agent.Server.Calls, c => c.Method == WorkloadApiMethod.FetchJwtSvid);
        Assert.Equal(["a", "b", "a"], call.Audiences);
        Assert.Equal(TestAgent.Db.ToString(), call.SpiffeId);
        Assert.Equal(TestAgent.Db, svid.Id);
        Assert.Equal("internal", svid.Hint);
    }

    [Fact]
    public async Task FetchJwtSvid_NoAudience_IsRefusedBeforeAnyCall()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        await using WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());

        await Assert.ThrowsAsync<ArgumentException>(() => client.FetchJwtSvidsAsync([]));
        await Assert.ThrowsAsync<ArgumentException>(() => client.FetchJwtSvidsAsync([""]));

        Assert.Empty(agent.Server.Calls);
    }

    [Fact]
    public async Task FetchJwtSvid_NoIdentity_SurfacesPermissionDenied()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Server.SetNoIdentity();
        await using WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());

        WorkloadApiException e = await Assert.ThrowsAsync<WorkloadApiException>(() => client.FetchJwtSvidAsync(["backend"]));

        Assert.Equal(WorkloadApiErrorKind.PermissionDenied, e.Kind);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    [Fact]
    public async Task ValidateJwtSvid_AgentRejects_SurfacesInvalidArgument()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Server.SetJwtSvidValidator((_, _) => throw new InvalidOperationException("token expired"));
        await using WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());

        WorkloadApiException e = await Assert.ThrowsAsync<WorkloadApiException>(() =>
            client.ValidateJwtSvidAsync(agent.Jwt.MintJwtSvid(TestAgent.Web, ["backend"]), "backend"));

        Assert.Equal(WorkloadApiErrorKind.InvalidArgument, e.Kind);
        RecordedCall call = Assert.Single(agent.Server.Calls);
        Assert.Equal(["backend"], call.Audiences);
        Assert.NotNull(call.Token);
    }

    [Fact]
    public async Task WatchX509Context_AsAsyncEnumerable_YieldsEachRotation()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestAgent.Timeout());
        var ids = new List<SpiffeId>();

        await foreach (X509Context context in client.WatchX509ContextAsync(stop.Token))
        {
            using (context)
            {
                ids.Add(context.DefaultSvid.Id);
            }

            if (ids.Count == 1)
            {
                agent.Serve(agent.Svid(TestAgent.Db));
            }
            else
            {
                break;
            }
        }

        Assert.Equal([TestAgent.Web, TestAgent.Db], ids);
    }

    [Fact]
    public async Task WatchX509Context_InvalidArgument_EndsTheEnumerationWithTheError()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Server.InjectError(WorkloadApiMethod.FetchX509Svid, StatusCode.InvalidArgument, 10, "security header missing from request");
        await using WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());

        WorkloadApiException e = await Assert.ThrowsAsync<WorkloadApiException>(async () =>
        {
            await foreach (X509Context context in client.WatchX509ContextAsync(TestAgent.Timeout()))
            {
                context.Dispose();
            }
        });

        Assert.Equal(WorkloadApiErrorKind.InvalidArgument, e.Kind);
        Assert.Single(agent.Server.Calls);
    }

    [Fact]
    public async Task WatchX509Context_RetryableErrorThenCancelledWithWithCancellation_YieldsAfterRetryAndEndsNormally()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        agent.Server.InjectError(WorkloadApiMethod.FetchX509Svid, StatusCode.Unavailable, 1, "agent restarting");
        await using WorkloadApiClient client = WorkloadApiClient.Create(agent.ClientOptions());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestAgent.Timeout());
        int received = 0;

        // The token comes through WithCancellation (the parameter is defaulted).
        await foreach (X509Context context in client.WatchX509ContextAsync().WithCancellation(stop.Token))
        {
            using (context)
            {
                Assert.Equal(TestAgent.Web, context.DefaultSvid.Id);
            }

            received++;
            await stop.CancelAsync();
        }

        Assert.Equal(1, received);
        Assert.Equal(2, agent.Server.Calls.Count(c => c.Method == WorkloadApiMethod.FetchX509Svid));
    }
}

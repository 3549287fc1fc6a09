using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

public sealed class BundleSourceTests
{
    [Fact]
    public async Task CreateAsync_ServesX509AndJwtBundles_AndFollowsRemovals()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Server.SetX509Bundles(new Dictionary<string, byte[]>
        {
            [TestAgent.Domain.Id.ToString()] = agent.BundleDer,
            [TestAgent.Partner.Id.ToString()] = agent.PartnerBundleDer,
        });
        agent.ServeJwtBundles();

        await using BundleSource source = await BundleSource.CreateAsync(new BundleSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        Assert.NotNull(source.GetX509Bundle(TestAgent.Partner));
        Assert.NotNull(source.GetJwtBundle(TestAgent.Domain));
        Assert.Null(source.GetJwtBundle(TestAgent.Partner));

        var next = source.WaitForX509UpdateAsync(TestAgent.Timeout());
        agent.Server.SetX509Bundles(new Dictionary<string, byte[]> { [TestAgent.Domain.Id.ToString()] = agent.BundleDer });
        await next;

        Assert.Null(source.GetX509Bundle(TestAgent.Partner));
        Assert.NotNull(source.GetX509Bundle(TestAgent.Domain));
    }

    [Fact]
    public async Task EmptyBundleMap_IsDiscarded()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Server.SetX509Bundles(new Dictionary<string, byte[]> { [TestAgent.Domain.Id.ToString()] = agent.BundleDer });
        agent.ServeJwtBundles();
        await using BundleSource source = await BundleSource.CreateAsync(new BundleSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        var next = source.WaitForX509UpdateAsync(TestAgent.Timeout());
        agent.Server.PushX509BundlesRaw(new Dictionary<string, byte[]>());
        agent.Server.PushX509BundlesRaw(new Dictionary<string, byte[]>
        {
            [TestAgent.Domain.Id.ToString()] = agent.BundleDer,
            [TestAgent.Partner.Id.ToString()] = agent.PartnerBundleDer,
        });
        var applied = await next;

        Assert.Equal(2, applied.Count);
        Assert.NotNull(source.GetX509Bundle(TestAgent.Domain));
    }
}

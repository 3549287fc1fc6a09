using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>Many rotations through the real gRPC stream release what they replace.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class RotationSoakTests
{
    private const int Rotations = 10_000;

    [Fact]
    public async Task TenThousandRotations_DoNotGrowOpenHandles()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid a = agent.Svid(TestAgent.Web);
        WorkloadApiX509Svid b = agent.Svid(TestAgent.Web);
        agent.Serve(a);
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        int liveBefore = X509Context.LiveCount;
        int descriptorsBefore = OpenFileDescriptors();
        CancellationToken timeout = TestAgent.Timeout(240);

        for (int i = 0; i < Rotations; i++)
        {
            Task<X509Context> next = source.WaitForUpdateAsync(timeout);
            Assert.Equal(1, agent.Server.PushX509SvidsRaw([i % 2 == 0 ? b : a]));
            await next;
        }

        // The current state and the one kept for in-flight handshakes; everything older was released.
        Assert.InRange(X509Context.LiveCount - liveBefore, 0, 1);
        Assert.InRange(OpenFileDescriptors() - descriptorsBefore, -8, 8);
        Assert.Equal(TestAgent.Web, source.GetX509Svid().Id);
    }

    private static int OpenFileDescriptors() => Directory.GetFileSystemEntries("/proc/self/fd").Length;
}

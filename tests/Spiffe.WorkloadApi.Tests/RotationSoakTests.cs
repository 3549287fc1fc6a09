using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>Many rotations through the real gRPC stream release what they replace.</summary>
[Collection(SerialTests.Name)]
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
        CancellationToken timeout = TestAgent.Timeout(240);
        async Task RotateAsync(int count)
        {
            for (int i = 0; i < count; i++)
            {
                Task<X509Context> next = source.WaitForUpdateAsync(timeout);
                Assert.Equal(1, agent.Server.PushX509SvidsRaw([i % 2 == 0 ? b : a]));
                await next;
            }
        }

        // Warm up to the steady state (connection pools, thread pool, JIT), then measure.
        await RotateAsync(100);
        int liveBefore = X509Context.LiveCount;
        int descriptorsBefore = OpenFileDescriptors();

        await RotateAsync(Rotations);

        // Exactly as many contexts alive as before: the current one and the one kept for in-flight
        // handshakes; all 10,000 others were released. File descriptors: a leak per rotation would
        // show thousands; the slack covers sockets other tests open and close meanwhile.
        Assert.Equal(liveBefore, X509Context.LiveCount);
        Assert.InRange(OpenFileDescriptors() - descriptorsBefore, -32, 32);
        Assert.Equal(TestAgent.Web, source.GetX509Svid().Id);
    }

    private static int OpenFileDescriptors() => Directory.GetFileSystemEntries("/proc/self/fd").Length;
}

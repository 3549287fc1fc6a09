using System.Diagnostics;

namespace Spiffe.Conformance.Tests;

/// <summary>
/// One agent and one harness process shared by the tests that do not change the agent's X.509
/// state (handshakes, JWT, dial, info). Tests that rotate, withdraw or stop start their own.
/// </summary>
public sealed class SharedHarness : IAsyncLifetime
{
    internal ConformanceAgent Agent { get; private set; } = null!;

    internal HarnessProcess Harness { get; private set; } = null!;

    internal IReadOnlyList<string> ProtocolLines { get; private set; } = [];

    internal TimeSpan TimeToReady { get; private set; }

    internal int X509Port { get; private set; }

    internal int ControlPort { get; private set; }

    public async Task InitializeAsync()
    {
        Agent = await ConformanceAgent.StartAsync();
        long started = Stopwatch.GetTimestamp();
        Harness = HarnessProcess.Start(Agent.Address);
        ProtocolLines = await Harness.WaitForReadyAsync();
        TimeToReady = Stopwatch.GetElapsedTime(started);
        X509Port = ProtocolLine.Port(ProtocolLines, "SPIFFE_X509_PORT");
        ControlPort = ProtocolLine.Port(ProtocolLines, "SPIFFE_CONTROL_PORT");
    }

    public async Task DisposeAsync()
    {
        if (Harness is not null)
        {
            await Harness.DisposeAsync();
        }

        if (Agent is not null)
        {
            await Agent.DisposeAsync();
        }
    }
}

/// <summary>All harness tests run one after another: each starts real processes on a shared 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HarnessProcesses : ICollectionFixture<SharedHarness>
{
    public const string Name = "Harness processes";
}

internal static class ProtocolLine
{
    public static int Port(IReadOnlyList<string> lines, string name)
    {
        string line = Assert.Single(lines, l => l.StartsWith(name + "=", StringComparison.Ordinal));
        Assert.True(int.TryParse(line.AsSpan(name.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port), line);
        Assert.InRange(port, 1, 65535);
        return port;
    }
}

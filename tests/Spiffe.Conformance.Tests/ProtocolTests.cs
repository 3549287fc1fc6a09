using System.Diagnostics;
using Xunit.Abstractions;

namespace Spiffe.Conformance.Tests;

[Collection(HarnessProcesses.Name)]
public sealed class ProtocolTests(SharedHarness shared, ITestOutputHelper output)
{
    private static readonly TimeSpan s_exitGrace = TimeSpan.FromSeconds(5);

    [Fact]
    public void Start_AgentServesSvid_PrintsVersionAndPortsThenReadyLast()
    {
        output.WriteLine($"READY after {shared.TimeToReady.TotalMilliseconds:0} ms (dotnet Spiffe.Conformance.Harness.dll, Debug build)");
        IReadOnlyList<string> lines = shared.ProtocolLines;

        Assert.Equal(4, lines.Count);
        Assert.Equal("READY", lines[^1]);
        Assert.Equal(
            ["SPIFFE_CONTROL_PORT", "SPIFFE_HARNESS_VERSION", "SPIFFE_X509_PORT"],
            lines.Take(3).Select(l => l.Split('=')[0]).Order(StringComparer.Ordinal));
        Assert.Contains("SPIFFE_HARNESS_VERSION=1", lines);
        Assert.NotEqual(shared.X509Port, shared.ControlPort);
    }

    [Theory]
    [InlineData("unix:relative/api.sock")]
    [InlineData("tcp://localhost:8081")]
    [InlineData("http://127.0.0.1:8081")]
    [InlineData("")]
    public async Task Start_MalformedEndpointSocket_ExitsNonZeroWithoutReady(string endpointSocket)
    {
        await using HarnessProcess harness = HarnessProcess.Start(endpointSocket);

        int? exitCode = await harness.WaitForExitAsync(HarnessProcess.ReadyTimeout);

        Assert.NotNull(exitCode);
        Assert.NotEqual(0, exitCode);
        Assert.DoesNotContain("READY", harness.StdoutLines);
        Assert.Contains("cannot use the Workload API address", harness.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_WhileServing_ExitsZeroWithinFiveSeconds()
    {
        await using ConformanceAgent agent = await ConformanceAgent.StartAsync();
        await using HarnessProcess harness = HarnessProcess.Start(agent.Address);
        await harness.WaitForReadyAsync();

        long signalled = Stopwatch.GetTimestamp();
        harness.SendSigterm();
        int? exitCode = await harness.WaitForExitAsync(s_exitGrace);

        output.WriteLine($"exited {Stopwatch.GetElapsedTime(signalled).TotalMilliseconds:0} ms after SIGTERM");
        Assert.Equal(0, exitCode);
        Assert.Equal(4, harness.StdoutLines.Count); // nothing but the protocol, shutdown included
    }

    [Fact]
    public async Task Start_TcpEndpointSocket_PrintsReadyAndServes()
    {
        await using ConformanceAgent agent = await ConformanceAgent.StartAsync(tcp: true);
        Assert.StartsWith("tcp://127.0.0.1:", agent.Address, StringComparison.Ordinal);
        await using HarnessProcess harness = HarnessProcess.Start(agent.Address);

        int port = ProtocolLine.Port(await harness.WaitForReadyAsync(), "SPIFFE_X509_PORT");
        using X509.X509Svid client = agent.ClientSvid();
        ProbeResult result = await TlsProbe.ConnectAsync(port, client, agent);

        Assert.Equal("spiffe://example.org/client\n", result.Received);
    }

    [Fact]
    public async Task Sigterm_NoSvidEverIssued_NeverPrintsReadyAndExitsWithinFiveSeconds()
    {
        await using ConformanceAgent agent = await ConformanceAgent.StartAsync();
        agent.Server.SetNoIdentity();
        await using HarnessProcess harness = HarnessProcess.Start(agent.Address);

        // Listening, and the agent has answered the X.509 stream with PermissionDenied at least once.
        await harness.WaitForStderrAsync(l => l.Contains("Listening:", StringComparison.Ordinal), HarnessProcess.ReadyTimeout);
        await agent.Server.WaitForCallAsync(Testing.WorkloadApiMethod.FetchX509Svid, 1).WaitAsync(HarnessProcess.ReadyTimeout);
        harness.SendSigterm();
        int? exitCode = await harness.WaitForExitAsync(s_exitGrace);

        Assert.Equal(0, exitCode);
        Assert.DoesNotContain("READY", harness.StdoutLines);
    }
}

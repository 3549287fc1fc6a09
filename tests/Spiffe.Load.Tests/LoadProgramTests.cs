using System.Text.Json;
using Spiffe.Tests.Shared;
using Xunit.Abstractions;

namespace Spiffe.Load.Tests;

/// <summary>
/// The load tool itself, bounded for CI: the command of benchmarks/README.md with 2 rounds of 1 s
/// per row (about 2 s measured per row), two callers. It checks that the harness works — every row
/// served requests, none failed, each server refused a foreign-CA client and only the policy server
/// refused another SPIFFE ID, the servers counted what the load sent, kept-alive rows stayed on
/// their connections, new-connection rows handshook once per request, and the SDK's resumed row
/// really resumed — not the figures, which need an idle machine.
/// </summary>
public sealed class LoadProgramTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(4);
    private const int Concurrency = 2;

    [Fact]
    public async Task LoadProgram_ShortRunOfBothScenarios_EveryRowServesAndNoneFails()
    {
        (int exitCode, string text) = await RunLoadAsync(
            "--duration", "1s", "--warmup", "500ms", "--rounds", "2", "--concurrency", Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture));
        output.WriteLine(text);

        string resultLine = text.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        LoadResult result = JsonSerializer.Deserialize<LoadResult>(resultLine["RESULT ".Length..])!;
        Assert.Equal(2, result.Scenarios.Count);
        Assert.Empty(result.CheckFailures); // each server checks the chain; only the policy server refuses another ID
        Assert.Equal(0, result.Failed);
        foreach (RowResult row in result.Scenarios.SelectMany(s => s.Rows))
        {
            Assert.True(row.Requests > 0 && row.RequestsPerSecond > 0, $"{row.Name}: {row.Requests} requests");
            Assert.Equal(0, row.Failed);
            Assert.Equal(row.Requests, row.ServerRequests); // the server saw exactly what the load counted
            Assert.InRange(row.Seconds, 1.9, 60);
            if (row.NewConnections)
            {
                Assert.Equal(row.Requests, row.ServerHandshakes); // one validated handshake per request
            }
            else
            {
                Assert.InRange(row.ServerHandshakes, 0, Concurrency); // warm connections, at most one reconnect per caller
            }
        }

        Assert.Equal(4, result.Scenarios[0].Rows.Count);
        Assert.Equal(4, result.Scenarios[1].Rows.Count);
        RowResult sdkResumed = result.Scenarios[1].Rows.Single(r => r.Server == "spiffe-policy" && r.Resume);
        RowResult sdkFull = result.Scenarios[1].Rows.Single(r => r.Server == "spiffe-policy" && !r.Resume);
        Assert.Equal(0, sdkFull.ServerResumed);
        if (OperatingSystem.IsLinux())
        {
            // AllowTlsResume is on by default on Linux: most reconnections of the known peer resume.
            Assert.True(sdkResumed.ServerResumed > sdkResumed.Requests / 2, $"{sdkResumed.ServerResumed} of {sdkResumed.Requests} resumed");
        }

        Assert.True(result.Passed);
        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task LoadProgram_UnknownOption_ExitsWithUsage()
    {
        (int exitCode, string text) = await RunLoadAsync("--no-such-option", "1");

        Assert.Equal(2, exitCode);
        Assert.Contains("Unknown option --no-such-option", text, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Output)> RunLoadAsync(params string[] arguments) =>
        BenchmarkProgram.RunAsync(typeof(LoadProgramTests).Assembly, "Spiffe.Load", s_timeout, arguments);
}

using System.Text.Json;
using Spiffe.Tests.Shared;
using Xunit.Abstractions;

namespace Spiffe.Soak.Tests;

/// <summary>
/// The soak program itself, bounded for CI: the same command as the 30-minute run in
/// benchmarks/README.md, for 45 s with a rotation every 500 ms. What a run this short can prove:
/// no request fails while a valid SVID exists (through rotations, two agent restarts and malformed
/// pushes), and descriptors do not grow per connection or per rotation (hundreds of each here, so a
/// leak of one descriptor each would exceed the bound many times over). RSS and live native memory
/// are reported, not judged: over 45 s they are still warming up.
/// </summary>
public sealed class SoakProgramTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task SoakProgram_ShortRunWithFastRotations_NoFailedRequestsAndBoundedDescriptors()
    {
        (int exitCode, string text) = await RunSoakAsync(
            "--duration", "45s", "--rotation", "500ms", "--restarts", "2", "--restart-downtime", "1s",
            "--malformed-every", "2s", "--connections", "5", "--keepalive", "10", "--sample", "3s",
            "--max-rss-slope", "off", "--max-native-slope", "off", "--max-fd-growth", "8");
        output.WriteLine(text);

        string resultLine = text.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        SoakVerdict result = JsonSerializer.Deserialize<SoakVerdict>(resultLine["RESULT ".Length..])!;
        Assert.Equal(0, result.FailedWithValidSvid);
        Assert.Equal(2, result.Restarts);
        Assert.True(result.MalformedPushes >= 10, $"{result.MalformedPushes} malformed pushes");
        Assert.True(result.NewConnectionRequests >= 50, $"{result.NewConnectionRequests} requests on new connections");
        Assert.True(result.ServerUpdates >= 20, $"{result.ServerUpdates} SVID updates reached the server");
        Assert.True(result.SamplesAfterWarmup >= 5, $"{result.SamplesAfterWarmup} samples after warm-up");
        Assert.InRange(result.FdGrowth, int.MinValue, 8);
        Assert.True(result.Passed);
        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task SoakProgram_UnknownOption_ExitsWithUsage()
    {
        (int exitCode, string text) = await RunSoakAsync("--no-such-option", "1");

        Assert.Equal(2, exitCode);
        Assert.Contains("Unknown option --no-such-option", text, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Output)> RunSoakAsync(params string[] arguments) =>
        BenchmarkProgram.RunAsync(typeof(SoakProgramTests).Assembly, "Spiffe.Soak", s_timeout, arguments);
}

using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
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

    private static async Task<(int ExitCode, string Output)> RunSoakAsync(params string[] arguments)
    {
        string assembly = typeof(SoakProgramTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Spiffe.Soak").Value!;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(assembly);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        var text = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data is null ? null : "err: " + e.Data);
        void Append(string? line)
        {
            if (line is not null)
            {
                lock (text)
                {
                    text.Append(line).Append('\n');
                }
            }
        }

        Assert.True(process.Start());
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(s_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"The soak did not end within {s_timeout}:\n{text}");
        }

        process.WaitForExit(); // drains the redirected output
        lock (text)
        {
            return (process.ExitCode, text.ToString());
        }
    }
}

using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Spiffe.Tests.Shared;

/// <summary>
/// Runs a benchmark program (Spiffe.Soak, Spiffe.Load) as a child process, the way its README's command
/// does, and returns its exit code and everything it printed (stderr lines prefixed <c>err: </c>).
/// The program's path comes from an <see cref="AssemblyMetadataAttribute"/> the test project writes.
/// Shared by tests/Spiffe.Soak.Tests and tests/Spiffe.Load.Tests.
/// </summary>
internal static class BenchmarkProgram
{
    public static async Task<(int ExitCode, string Output)> RunAsync(Assembly tests, string program, TimeSpan timeout, params string[] arguments)
    {
        string assembly = tests.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == program).Value!;
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
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{program} did not end within {timeout}:\n{text}");
        }

        process.WaitForExit(); // drains the redirected output
        lock (text)
        {
            return (process.ExitCode, text.ToString());
        }
    }
}

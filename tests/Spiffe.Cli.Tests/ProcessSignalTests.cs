using System.Diagnostics;
using System.Globalization;

namespace Spiffe.Cli.Tests;

/// <summary>The real spiffe executable stops cleanly on SIGTERM and SIGINT (a terminal's Ctrl-C).</summary>
public sealed class ProcessSignalTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("spiffe-cli-signal-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task DevAgent_Signalled_StopsCleanlyWithExitCodeZero(string signal)
    {
        string socket = "unix://" + Path.Combine(_directory, "agent.sock");
        string[] command = ["dotnet", Path.Combine(AppContext.BaseDirectory, "spiffe.dll"), "dev-agent", "--socket", socket, "--trust-domain", "example.org", "--id", "spiffe://example.org/web"];
        if (signal == "INT" && InheritsIgnoredSigint())
        {
            // A test run started in the background of a non-interactive shell ignores SIGINT, and its
            // children inherit that (the runtime, like nohup, keeps an ignored SIGINT ignored). Start the
            // tool as a terminal would: SIGINT at its default disposition.
            command = ["env", "--default-signal=INT", .. command];
        }

        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in command[1..])
        {
            start.ArgumentList.Add(arg);
        }

        using Process agent = Process.Start(start)!;
        Task<string> errors = agent.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(s_timeout);
            string? line;
            do
            {
                line = await agent.StandardOutput.ReadLineAsync(timeout.Token);
            }
            while (line is not null && !line.StartsWith("dev-agent ready", StringComparison.Ordinal));

            if (line is null)
            {
                Assert.Fail("dev-agent exited before it was ready: " + await errors);
            }

            using (Process kill = Process.Start("kill", ["-" + signal, agent.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(timeout.Token);
                Assert.Equal(0, kill.ExitCode);
            }

            string rest = await agent.StandardOutput.ReadToEndAsync(timeout.Token);
            await agent.WaitForExitAsync(timeout.Token);

            string stderr = await errors;
            Assert.True(agent.ExitCode == 0, stderr);
            Assert.Contains("dev-agent stopped.", rest, StringComparison.Ordinal);
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Whether this process ignores SIGINT (bit 2 of <c>SigIgn</c> in /proc/self/status).</summary>
    private static bool InheritsIgnoredSigint()
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null
            && ulong.TryParse(line.AsSpan("SigIgn:".Length).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong mask)
            && (mask & (1UL << 1)) != 0;
    }
}

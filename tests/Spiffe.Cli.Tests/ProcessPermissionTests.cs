using System.Diagnostics;

namespace Spiffe.Cli.Tests;

/// <summary>
/// <c>--write</c> into, or a dev-agent socket in, a directory the user may not write to. Root ignores file permissions, so when the tests
/// run as root the real spiffe executable is run as the unprivileged user <c>nobody</c> (setpriv); otherwise
/// the directory is made read-only for the current user and the tool runs in-process.
/// </summary>
public sealed class ProcessPermissionTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("spiffe-cli-perm-").FullName;

    public ProcessPermissionTests()
    {
        // Traversable by nobody, to reach the socket and the target directory.
        File.SetUnixFileMode(_directory, (UnixFileMode)0b111_101_101);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task X509FetchWrite_DirectoryNotWritable_SaysPermissionDeniedAndWhatToDo()
    {
        string socket = "unix://" + Path.Combine(_directory, "agent.sock");
        string target = Path.Combine(_directory, "read-only");
        Directory.CreateDirectory(target);
        File.SetUnixFileMode(target, (UnixFileMode)0b101_101_101);
        await using RunningAgent agent = await RunningAgent.StartAsync(
            ["dev-agent", "--socket", socket, "--trust-domain", "example.org", "--id", "spiffe://example.org/web", "--socket-mode", "0666"]);
        Assert.False(agent.Exit.IsCompleted, string.Join('\n', agent.Output.Lines));

        (int exit, string output, string error) = Environment.UserName == "root"
            ? await RunAsNobodyAsync("x509", "fetch", "--socket", socket, "--write", target)
            : await CliRun.RunAsync(["x509", "fetch", "--socket", socket, "--write", target]);

        string line = CliRun.AssertOneLineFailure((exit, output, error));
        Assert.Equal($"spiffe: cannot write into {target}: permission denied; choose a directory you can write to with --write, or fix its permissions", line);
        Assert.Contains("SPIFFE ID:      spiffe://example.org/web", output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(target));
    }

    [Fact]
    public async Task DevAgent_SocketDirectoryNotWritable_SaysPermissionDeniedAndWhatToDo()
    {
        string target = Path.Combine(_directory, "read-only");
        Directory.CreateDirectory(target);
        File.SetUnixFileMode(target, (UnixFileMode)0b101_101_101);
        string socket = Path.Combine(target, "agent.sock");
        string[] args = ["dev-agent", "--socket", "unix://" + socket, "--trust-domain", "example.org", "--id", "spiffe://example.org/web"];

        (int exit, string output, string error) = Environment.UserName == "root"
            ? await RunAsNobodyAsync(args)
            : await CliRun.RunAsync(args);

        string line = CliRun.AssertOneLineFailure((exit, output, error));
        Assert.Equal($"spiffe: cannot create the socket {socket}: permission denied in {target}; choose a directory you can write to with --socket", line);
        Assert.False(File.Exists(socket));
    }

    private async Task<(int Exit, string Out, string Err)> RunAsNobodyAsync(params string[] args)
    {
        var start = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", Path.Combine(AppContext.BaseDirectory, "spiffe.dll"), .. args])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["HOME"] = _directory;
        start.Environment["DOTNET_CLI_HOME"] = _directory;
        start.Environment.Remove("SPIFFE_ENDPOINT_SOCKET");
        using Process process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(s_timeout);
        Task<string> output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        Task<string> error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return (process.ExitCode, await output, await error);
    }
}

using System.Diagnostics;
using System.Reflection;
using Xunit.Abstractions;

namespace Spiffe.Samples.Tests;

/// <summary>
/// The README's quick start calls, run as written: the bash block that fetches the frontend's SVID
/// files with the <c>spiffe</c> tool and calls the service with <c>openssl s_client</c> and <c>curl</c>,
/// against the Kestrel sample (the quick start's <c>Spiffe</c> section) on a development agent.
/// </summary>
/// <remarks>
/// curl and openssl are not part of the .NET SDK: without them this test fails, saying so, unless
/// <c>SPIFFE_TESTS_NO_CURL=1</c> says on purpose that this machine cannot run it (.ci/run installs both).
/// </remarks>
public sealed class QuickStartCommandTests(KestrelSampleService service, ITestOutputHelper output) : IClassFixture<KestrelSampleService>
{
    private const string OptOut = "SPIFFE_TESTS_NO_CURL";

    [Fact]
    public async Task ReadmeQuickStart_CurlAndOpensslCommands_CallTheServiceAsTheFrontend()
    {
        string[] missing = [.. new[] { "bash", "curl", "openssl" }.Where(tool => FindOnPath(tool) is null)];
        if (missing.Length > 0)
        {
            Assert.True(
                Environment.GetEnvironmentVariable(OptOut) == "1",
                $"This test runs the README's quick start commands and needs {string.Join(", ", missing)} on PATH (e.g. apt-get install curl openssl). Install them, or set {OptOut}=1 to leave this test out knowingly.");
            output.WriteLine($"Not run: {OptOut}=1 and {string.Join(", ", missing)} missing.");
            return;
        }

        int port = new Uri(service.Address).Port;
        string script = ReadmeCallBlock()
            .Replace("unix:///tmp/agent.sock", service.Agent.Address, StringComparison.Ordinal)
            .Replace("localhost:8443", $"localhost:{port}", StringComparison.Ordinal);
        string directory = Directory.CreateTempSubdirectory("spiffe-quick-start-").FullName;
        try
        {
            (int exitCode, string stdout, string stderr) = await RunBashAsync(
                // `spiffe` is the tool built from src/Spiffe.Cli, as `dotnet tool install -g Spiffe.Cli` would provide it.
                "set -eu\nspiffe() { \"$SPIFFE_DOTNET\" exec \"$SPIFFE_CLI\" \"$@\"; }\n" + script,
                directory);

            string all = $"exit {exitCode}\nscript:\n{script}\nstdout:\n{stdout}\nstderr:\n{stderr}";
            Assert.True(exitCode == 0, all);
            Assert.True(File.Exists(Path.Combine(directory, "svid", "svid.pem")) && File.Exists(Path.Combine(directory, "svid", "svid_key.pem")) && File.Exists(Path.Combine(directory, "svid", "bundle.pem")), all);
            Assert.Contains($"URI:{SampleService.Backend}", stdout, StringComparison.Ordinal);
            string[] answers = [.. stdout.Split('\n').Where(l => l.StartsWith($"hello {SampleService.Frontend} from {SampleService.Backend}", StringComparison.Ordinal))];
            Assert.True(answers.Length == 2, $"expected one answer through openssl and one through curl\n{all}"); // openssl's, then curl's
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The README's bash block that runs <c>spiffe x509 fetch --write svid</c>, the calls that follow it.</summary>
    private static string ReadmeCallBlock()
    {
        string root = Path.GetFullPath(Path.Combine(SamplesRoot, ".."));
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        string[] blocks = readme.Split("```bash\n")[1..].Select(b => b[..b.IndexOf("```", StringComparison.Ordinal)]).ToArray();
        return Assert.Single(blocks, b => b.Contains("spiffe x509 fetch --write svid ", StringComparison.Ordinal));
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunBashAsync(string script, string workingDirectory)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-s");
        start.Environment["SPIFFE_DOTNET"] = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        start.Environment["SPIFFE_CLI"] = Metadata("SpiffeCli");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start bash.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(script);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(SampleService.Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The README's commands did not finish within {SampleService.Timeout.TotalSeconds:0} s. Output so far is lost; script:\n{script}");
        }

        output.WriteLine(await stdout);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string SamplesRoot => Metadata("SamplesRoot");

    private static string Metadata(string key) =>
        typeof(QuickStartCommandTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, tool))
            .FirstOrDefault(File.Exists);
}

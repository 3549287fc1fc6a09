namespace Spiffe.Cli.Tests;

/// <summary>Runs the tool in-process with captured output and an environment of the test's choosing (none by default).</summary>
internal static class CliRun
{
    public static async Task<(int Exit, string Out, string Err)> RunAsync(string[] args, Func<string, string?>? environment = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await SpiffeCli.RunAsync(args, output, error, environment ?? (_ => null));
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>The failure contract: a non-zero exit, nothing on stdout, exactly one line on stderr with no .NET wording.</summary>
    public static string AssertOneLineFailure((int Exit, string Out, string Err) result, int expectedExit = 1)
    {
        Assert.True(result.Exit == expectedExit, $"exit {result.Exit}: {result.Err}");
        string line = Assert.Single(result.Err.TrimEnd('\n', '\r').Split('\n'));
        Assert.StartsWith("spiffe: ", line, StringComparison.Ordinal);
        foreach (string runtimeWording in (string[])["Exception", "(Parameter '", "   at ", "Could not find", "already exists", "Access to the path", "un-representable", "System."])
        {
            Assert.DoesNotContain(runtimeWording, line, StringComparison.Ordinal);
        }

        return line;
    }
}

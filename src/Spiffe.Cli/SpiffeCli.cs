using System.CommandLine;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli;

/// <summary>The <c>spiffe</c> command tree. Output goes to the given writers so tests can run it in-process.</summary>
internal static class SpiffeCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var socket = new Option<string?>("--socket")
        {
            Description = "Workload API address (unix:///path or tcp://IP:port); default: $SPIFFE_ENDPOINT_SOCKET",
            Recursive = true,
        };
        var json = new Option<bool>("--json") { Description = "Print JSON for scripts instead of text", Recursive = true };
        var context = new CliContext(output, error, socket, json);

        var root = new RootCommand("Talk to a SPIFFE Workload API: fetch, watch and validate SVIDs and bundles, or run a local development agent.")
        {
            socket,
            json,
            X509Commands.Create(context),
            JwtCommands.Create(context),
            BundleCommands.Create(context),
            DevAgentCommand.Create(context),
        };

        ParseResult parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>What every command handler needs: the writers, the shared options, and uniform failure handling.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, Option<string?> socket, Option<bool> json)
{
    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public Option<bool> Json { get; } = json;

    public WorkloadApiClient CreateClient(ParseResult parse) =>
        WorkloadApiClient.Create(new WorkloadApiClientOptions { Address = parse.GetValue(socket) });

    public string? Socket(ParseResult parse) => parse.GetValue(socket);

    /// <summary>Runs a handler; any SDK or I/O failure becomes one line on stderr and exit code 1.</summary>
    public async Task<int> RunAsync(Func<Task> handler)
    {
        try
        {
            await handler().ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is SpiffeException or IOException or UnauthorizedAccessException or ArgumentException or FormatException)
        {
            await Error.WriteLineAsync("spiffe: " + OneLine(e.Message)).ConfigureAwait(false);
            return 1;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}

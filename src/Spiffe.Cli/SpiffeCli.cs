using System.CommandLine;
using System.CommandLine.Parsing;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli;

/// <summary>The <c>spiffe</c> command tree. Output goes to the given writers so tests can run it in-process.</summary>
internal static class SpiffeCli
{
    /// <summary>Exit code of a command that failed.</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a command line that could not be parsed (unknown option, missing value).</summary>
    public const int UsageError = 2;

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        RunAsync(args, output, error, Environment.GetEnvironmentVariable, cancellationToken);

    /// <param name="args">The command line.</param>
    /// <param name="output">Where results go (stdout).</param>
    /// <param name="error">Where failures go (stderr), one line each.</param>
    /// <param name="environment">Reads an environment variable (<c>SPIFFE_ENDPOINT_SOCKET</c>); tests pass their own.</param>
    /// <param name="cancellationToken">Ctrl-C / SIGTERM: stops dev-agent and watch cleanly.</param>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<string, string?> environment, CancellationToken cancellationToken = default)
    {
        var socket = new Option<string?>("--socket")
        {
            Description = $"Workload API address (unix:///path or tcp://IP:port); default: ${WorkloadApiAddress.EnvironmentVariable}",
            Recursive = true,
        };
        var json = new Option<bool>("--json") { Description = "Print JSON for scripts instead of text", Recursive = true };
        var context = new CliContext(output, error, socket, json, environment);

        var root = new RootCommand("Talk to a SPIFFE Workload API: fetch, watch and validate SVIDs and bundles, or run a local development agent.")
        {
            socket,
            json,
            X509Commands.Create(context),
            JwtCommands.Create(context),
            BundleCommands.Create(context),
            DevAgentCommand.Create(context),
            Helper.HelperCommand.Create(context),
        };

        ParseResult parsed = root.Parse(args);
        if (parsed.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            // One line, like every other failure, instead of the error followed by the whole help text.
            var names = new List<string>();
            for (SymbolResult? result = parsed.CommandResult; result is CommandResult { Parent: not null } command; result = command.Parent)
            {
                names.Insert(0, command.Command.Name);
            }

            string errors = string.Join("; ", parsed.Errors.Select(e => e.Message.TrimEnd('.')));
            await error.WriteLineAsync($"spiffe: {errors}; see '{string.Join(' ', names.Prepend("spiffe"))} --help'.").ConfigureAwait(false);
            return UsageError;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>What every command handler needs: the writers, the shared options, and uniform failure handling.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, Option<string?> socket, Option<bool> json, Func<string, string?> environment)
{
    private const int MaxUnixSocketPathBytes = 107;

    private WorkloadApiAddress? _address;

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public Option<bool> Json { get; } = json;

    /// <summary>Reads an environment variable (tests pass their own).</summary>
    public Func<string, string?> Environment { get; } = environment;

    /// <summary>The Workload API address from <c>--socket</c>, else from <c>SPIFFE_ENDPOINT_SOCKET</c>.</summary>
    public WorkloadApiAddress ResolveAddress(ParseResult parse)
    {
        string? text = parse.GetValue(socket);
        string source = "--socket";
        if (text is null)
        {
            text = Environment(WorkloadApiAddress.EnvironmentVariable);
            source = WorkloadApiAddress.EnvironmentVariable;
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new CliException($"no Workload API address: pass --socket unix:///path/to/agent.sock or set {WorkloadApiAddress.EnvironmentVariable}.");
            }
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CliException("--socket is empty; give the Workload API address, e.g. --socket unix:///tmp/agent.sock.");
        }

        try
        {
            _address = WorkloadApiAddress.Parse(text);
        }
        catch (WorkloadApiException e)
        {
            throw new CliException($"{source}: {e.Message}", e);
        }

        // The kernel's limit (sun_path); .NET's own message names a parameter and a length in characters.
        if (_address.UnixSocketPath is { } path && System.Text.Encoding.UTF8.GetByteCount(path) > MaxUnixSocketPathBytes)
        {
            throw new CliException($"{source}: the socket path {path} is {System.Text.Encoding.UTF8.GetByteCount(path)} bytes long; Unix sockets allow at most {MaxUnixSocketPathBytes}: choose a shorter path.");
        }

        return _address;
    }

    public WorkloadApiClient CreateClient(ParseResult parse) =>
        WorkloadApiClient.Create(new WorkloadApiClientOptions { Address = ResolveAddress(parse).ToString() });

    /// <summary>Runs a handler; any failure becomes one line on stderr and exit code 1 (<see cref="ErrorMessages"/>).</summary>
    public async Task<int> RunAsync(Func<Task> handler, CancellationToken cancellationToken)
    {
        try
        {
            await handler().ConfigureAwait(false);
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted (Ctrl-C, SIGTERM) before the command finished: stop quietly, as a shell user expects.
            return 130;
        }
        catch (Exception e)
        {
            await Error.WriteLineAsync("spiffe: " + await ErrorMessages.DescribeAsync(e, _address).ConfigureAwait(false)).ConfigureAwait(false);
            return SpiffeCli.Failure;
        }
    }
}

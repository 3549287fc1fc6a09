using System.CommandLine;
using Spiffe.Testing;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli;

/// <summary><c>spiffe dev-agent</c>: a local Workload API for development, built on Spiffe.Testing.</summary>
internal static class DevAgentCommand
{
    public static Command Create(CliContext cli)
    {
        var trustDomain = new Option<string>("--trust-domain") { Description = "The trust domain to issue identities in", Required = true };
        var ids = new Option<string[]>("--id") { Description = "A SPIFFE ID to issue (repeat for several; the first is the default)", Required = true };
        var ttl = new Option<string>("--ttl") { Description = "X509-SVID lifetime, e.g. 90s, 2m, 1h; SVIDs rotate at half of it", DefaultValueFactory = _ => "1h" };
        var command = new Command("dev-agent", "Run a local development Workload API (no SPIRE, no attestation) until interrupted") { trustDomain, ids, ttl };
        command.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            string socketText = cli.Socket(parse)
                ?? throw new ArgumentException("dev-agent needs --socket unix:///path/to/agent.sock (where to listen).");
            WorkloadApiAddress address = WorkloadApiAddress.Parse(socketText);
            if (!address.IsUnixSocket)
            {
                throw new ArgumentException("dev-agent listens on a unix: socket; use --socket unix:///path/to/agent.sock.");
            }

            var options = new DevelopmentAgentOptions
            {
                TrustDomain = TrustDomain.Parse(parse.GetValue(trustDomain)!),
                SocketPath = address.UnixSocketPath,
                SvidTimeToLive = Duration.Parse(parse.GetValue(ttl)!),
            };
            foreach (string id in parse.GetValue(ids)!)
            {
                options.Ids.Add(SpiffeId.Parse(id));
            }

            await using DevelopmentAgent agent = await DevelopmentAgent.StartAsync(options, ct).ConfigureAwait(false);
            agent.Rotated += (_, e) => Print(cli.Output, e);
            await cli.Output.WriteLineAsync(
                $"dev-agent ready on {agent.Address}: trust domain {agent.TrustDomain}, {options.Ids.Count} identit{(options.Ids.Count == 1 ? "y" : "ies")}, SVIDs live {Duration.Format(options.SvidTimeToLive)} and rotate every {Duration.Format(options.SvidTimeToLive / 2)}. Set SPIFFE_ENDPOINT_SOCKET={agent.Address}. Ctrl-C stops.").ConfigureAwait(false);
            await cli.Output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await cli.Output.WriteLineAsync("dev-agent stopped.").ConfigureAwait(false);
            }
        }));
        return command;
    }

    private static void Print(TextWriter output, DevelopmentAgentRotatedEventArgs e)
    {
        lock (output)
        {
            foreach ((SpiffeId id, string serial, DateTimeOffset notAfter) in e.Svids)
            {
                output.WriteLine($"issued #{e.Generation}: {id} serial {serial} expires {notAfter:u}");
            }

            output.Flush();
        }
    }
}

using System.CommandLine;
using System.Globalization;
using Spiffe.Testing;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli;

/// <summary><c>spiffe dev-agent</c>: a local Workload API for development, built on Spiffe.Testing.</summary>
internal static class DevAgentCommand
{
    private static readonly TimeSpan s_minTimeToLive = TimeSpan.FromSeconds(2);

    // A dev-agent SVID longer than a year is a mistake, and 99999999h does not even fit an X.509 date.
    private static readonly TimeSpan s_maxTimeToLive = TimeSpan.FromDays(365);

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static Command Create(CliContext cli)
    {
        var trustDomain = new Option<string>("--trust-domain") { Description = "The trust domain to issue identities in", Required = true };
        var ids = new Option<string[]>("--id") { Description = "A SPIFFE ID to issue (repeat for several; the first is the default)", Required = true };
        var ttl = new Option<string>("--ttl") { Description = "X509-SVID lifetime, 2s to 365d, e.g. 90s, 2m, 1h; SVIDs rotate at half of it", DefaultValueFactory = _ => "1h" };
        var socketMode = new Option<string?>("--socket-mode")
        {
            Description = "Permissions of the socket file, in octal (default 0600: only this user may connect; 0660 lets the group in)",
        };
        var command = new Command("dev-agent", "Run a local development Workload API (no SPIRE, no attestation) on --socket or $SPIFFE_ENDPOINT_SOCKET until interrupted")
        {
            trustDomain, ids, ttl, socketMode,
        };
        command.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            // Everything is checked before the socket is touched, so a typo never leaves anything behind.
            WorkloadApiAddress address = cli.ResolveAddress(parse);
            string path = address.UnixSocketPath
                ?? throw new CliException($"dev-agent listens on a Unix socket, not on {address}; use e.g. --socket unix:///tmp/agent.sock.");
            var options = new DevelopmentAgentOptions
            {
                TrustDomain = OptionValues.TrustDomain("--trust-domain", parse.GetValue(trustDomain)),
                SocketPath = path,
                SvidTimeToLive = Duration.Parse("--ttl", parse.GetValue(ttl), s_minTimeToLive, s_maxTimeToLive),
                SocketFileMode = ParseMode(parse.GetValue(socketMode)),
            };
            foreach (string text in parse.GetValue(ids)!)
            {
                SpiffeId id = OptionValues.SpiffeId("--id", text);
                if (!id.MemberOf(options.TrustDomain))
                {
                    throw new CliException($"--id {id} is not in the trust domain {options.TrustDomain} (--trust-domain); use an ID like spiffe://{options.TrustDomain}/web, or change --trust-domain.");
                }

                if (id.IsTrustDomainId)
                {
                    throw new CliException($"--id {id} has no path; an X509-SVID needs one, e.g. spiffe://{options.TrustDomain}/web.");
                }

                if (!options.Ids.Contains(id))
                {
                    options.Ids.Add(id);
                }
            }

            UnixSocketFileState state = await UnixSocketFile.InspectAsync(path, ct).ConfigureAwait(false);
            if (state is not (UnixSocketFileState.Absent or UnixSocketFileState.Stale))
            {
                throw new CliException(ErrorMessages.CannotListen(path, state));
            }

            DevelopmentAgent agent;
            try
            {
                agent = await DevelopmentAgent.StartAsync(options, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
            {
                throw ErrorMessages.ListenFailed(path, e);
            }

            await using (agent.ConfigureAwait(false))
            {
                agent.Rotated += (_, e) => Print(cli.Output, e);
                await cli.Output.WriteLineAsync(
                    $"dev-agent ready on {agent.Address}{(state == UnixSocketFileState.Stale ? " (replaced a socket left by a stopped agent)" : string.Empty)}: trust domain {agent.TrustDomain}, {options.Ids.Count} identit{(options.Ids.Count == 1 ? "y" : "ies")}, SVIDs live {Duration.Format(options.SvidTimeToLive)} and rotate every {Duration.Format(options.SvidTimeToLive / 2)}. Set SPIFFE_ENDPOINT_SOCKET={agent.Address}. Ctrl-C stops.").ConfigureAwait(false);
                await cli.Output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    await cli.Output.WriteLineAsync("dev-agent stopped.").ConfigureAwait(false);
                }
            }
        }, ct));
        return command;
    }

    private static UnixFileMode ParseMode(string? text)
    {
        if (text is null)
        {
            return OwnerOnly;
        }

        // Permission bits only: setuid, setgid and sticky mean nothing on a socket.
        int mode = text.Length is >= 3 and <= 4 && text.All(c => c is >= '0' and <= '7') ? Convert.ToInt32(text, 8) : -1;
        if (mode is < 0 or > 0x1FF)
        {
            throw new CliException($"--socket-mode {text} is not a file mode; give 3 or 4 octal digits, e.g. 0600 or 0660.");
        }

        var parsed = (UnixFileMode)mode;
        return (parsed & UnixFileMode.UserWrite) == 0
            ? throw new CliException($"--socket-mode {text} does not let the owner connect (a client needs write permission on the socket); e.g. 0600 or 0660.")
            : parsed;
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

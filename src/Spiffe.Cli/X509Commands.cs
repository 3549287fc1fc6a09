using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Spiffe.Bundles;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Cli;

/// <summary><c>spiffe x509 fetch|watch</c>.</summary>
internal static class X509Commands
{
    public static Command Create(CliContext cli)
    {
        var write = new Option<string?>("--write")
        {
            Description = "Also write svid.pem, svid_key.pem (mode 0600), bundle.pem and federated_bundle.<td>.pem to this directory (created if missing); existing files are replaced atomically, so re-running refreshes them",
        };
        var subject = new Option<string?>("--spiffe-id") { Description = "Only the X509-SVID of this SPIFFE ID (printed and written); default: all printed, the first written" };
        var fetch = new Command("fetch", "Fetch the X509-SVIDs and bundles once") { write, subject };
        fetch.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            SpiffeId? id = parse.GetValue(subject) is { } text ? OptionValues.SpiffeId("--spiffe-id", text) : null;

            // The directory is checked and created before the agent is asked, so a wrong --write costs no fetch.
            string? directory = parse.GetValue(write) is { } target ? PrepareDirectory(target) : null;
            await using WorkloadApiClient client = cli.CreateClient(parse);
            using X509Context context = await client.FetchX509ContextAsync(ct).ConfigureAwait(false);
            X509Svid? chosen = id is null ? null : context.Svids.FirstOrDefault(s => s.Id == id)
                ?? throw new CliException($"the Workload API at {client.Address} gave no X509-SVID for {id}; it has {string.Join(", ", context.Svids.Select(s => s.Id))}.");
            await PrintAsync(cli, parse.GetValue(cli.Json), context, chosen, receivedAt: null).ConfigureAwait(false);
            if (directory is not null)
            {
                IReadOnlyList<string> written = WriteFiles(context, chosen ?? context.DefaultSvid, directory);
                if (!parse.GetValue(cli.Json))
                {
                    await cli.Output.WriteLineAsync($"Wrote {string.Join(", ", written)} to {directory}").ConfigureAwait(false);
                }
            }
        }, ct));

        var count = new Option<int?>("--count")
        {
            Description = "Stop after this many updates, 1 or more (default: until interrupted)",
            CustomParser = result =>
            {
                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= 1)
                {
                    return value;
                }

                result.AddError($"--count {text} is not a number of updates; give 1 or more, or leave it out to watch until interrupted");
                return null;
            },
        };
        var watch = new Command("watch", "Print every X.509 update, with the time it arrived, until interrupted") { count };
        watch.SetAction((parse, ct) => cli.RunAsync(() => WatchAsync(cli, parse, parse.GetValue(count), ct), ct));

        return new Command("x509", "X509-SVIDs and X.509 bundles") { fetch, watch };
    }

    /// <summary>Resolves --write (relative to the current directory) and creates it; a file there is a mistake, not something to replace.</summary>
    private static string PrepareDirectory(string target)
    {
        if (string.IsNullOrWhiteSpace(target))
        {
            throw new CliException("--write is empty; give the directory to write the SVID files into, e.g. --write ./svid.");
        }

        string directory = Path.GetFullPath(target);
        if (File.Exists(directory))
        {
            throw new CliException($"--write {directory} is a file; give a directory (svid.pem, svid_key.pem and bundle.pem are written into it), e.g. --write {Path.GetDirectoryName(directory)}.");
        }

        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ErrorMessages.WriteFailed(directory, e);
        }

        return directory;
    }

    /// <summary>
    /// Prints every update until <paramref name="limit"/> or Ctrl-C. While the Workload API cannot be reached the
    /// watch keeps retrying; each new reason is printed once to stderr, so a wrong socket is not a silent hang.
    /// </summary>
    private static async Task WatchAsync(CliContext cli, ParseResult parse, int? limit, CancellationToken cancellationToken)
    {
        bool json = parse.GetValue(cli.Json);
        await using WorkloadApiClient client = cli.CreateClient(parse);
        var updates = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task watching = WatchIntoAsync(client, updates.Writer, stop.Token);
        int seen = 0;
        string? lastError = null;
        try
        {
            await foreach (object item in updates.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (item is WorkloadApiException error)
                {
                    string reason = (await ErrorMessages.DescribeAsync(error, client.Address).ConfigureAwait(false)).TrimEnd('.');
                    string? next = error.IsRetryable ? "retrying until it answers (Ctrl-C stops)"
                        : error.Kind == WorkloadApiErrorKind.MalformedResponse ? "waiting for the next update"
                        : null; // stops the watch: reported once, below, as the command's failure
                    if (next is not null && reason != lastError)
                    {
                        await cli.Error.WriteLineAsync($"spiffe: {reason}; {next}.").ConfigureAwait(false);
                        await cli.Error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        lastError = reason;
                    }

                    continue;
                }

                lastError = null;
                using (var context = (X509Context)item)
                {
                    await PrintAsync(cli, json, context, chosen: null, receivedAt: DateTimeOffset.UtcNow).ConfigureAwait(false);
                    await cli.Output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }

                if (++seen == limit)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: a normal way to stop watching.
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            while (updates.Reader.TryRead(out object? left))
            {
                (left as IDisposable)?.Dispose();
            }
        }

        // A watch that stopped by itself did so on an error that is not retried (e.g. InvalidArgument): report it.
        await watching.ConfigureAwait(false);
    }

    private static async Task WatchIntoAsync(WorkloadApiClient client, ChannelWriter<object> writer, CancellationToken cancellationToken)
    {
        try
        {
            await client.WatchX509ContextAsync(new ChannelWatcher<X509Context>(writer), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped by the command: enough updates, or Ctrl-C.
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private static async Task PrintAsync(CliContext cli, bool json, X509Context context, X509Svid? chosen, DateTimeOffset? receivedAt)
    {
        IReadOnlyList<X509Svid> svids = chosen is null ? context.Svids : [chosen];
        if (json)
        {
            await Json.WriteAsync(cli.Output, w =>
            {
                w.WriteStartObject();
                if (receivedAt is { } at)
                {
                    w.WriteString("received_at", at.ToString("o", CultureInfo.InvariantCulture));
                }

                w.WriteStartArray("svids");
                foreach (X509Svid svid in svids)
                {
                    w.WriteStartObject();
                    w.WriteString("spiffe_id", svid.Id.ToString());
                    if (svid.Hint is not null)
                    {
                        w.WriteString("hint", svid.Hint);
                    }

                    w.WriteString("serial", svid.Certificate.SerialNumber);
                    w.WriteString("not_after", svid.ExpiresAt.ToString("o", CultureInfo.InvariantCulture));
                    w.WriteNumber("intermediates", svid.Intermediates.Count);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                WriteBundles(w, context.Bundles);
                w.WriteEndObject();
            }).ConfigureAwait(false);
            return;
        }

        if (receivedAt is { } time)
        {
            await cli.Output.WriteLineAsync($"Update at {time:u}").ConfigureAwait(false);
        }

        foreach (X509Svid svid in svids)
        {
            TimeSpan left = svid.ExpiresAt - DateTimeOffset.UtcNow;
            await cli.Output.WriteLineAsync($"SPIFFE ID:      {svid.Id}").ConfigureAwait(false);
            if (svid.Hint is not null)
            {
                await cli.Output.WriteLineAsync($"Hint:           {svid.Hint}").ConfigureAwait(false);
            }

            await cli.Output.WriteLineAsync($"Serial:         {svid.Certificate.SerialNumber}").ConfigureAwait(false);
            await cli.Output.WriteLineAsync($"Not after:      {svid.ExpiresAt:u} (in {Duration.Format(left < TimeSpan.Zero ? TimeSpan.Zero : left)})").ConfigureAwait(false);
            await cli.Output.WriteLineAsync($"Intermediates:  {svid.Intermediates.Count}").ConfigureAwait(false);
        }

        await cli.Output.WriteLineAsync($"Trust bundles:  {string.Join(", ", context.Bundles.Select(b => $"{b.TrustDomain} ({b.X509Authorities.Count} CA)"))}").ConfigureAwait(false);
    }

    internal static void WriteBundles(Utf8JsonWriter w, X509BundleSet bundles)
    {
        w.WriteStartArray("bundles");
        foreach (X509Bundle bundle in bundles)
        {
            w.WriteStartObject();
            w.WriteString("trust_domain", bundle.TrustDomain.Name);
            w.WriteNumber("authorities", bundle.X509Authorities.Count);
            w.WriteString("pem", bundle.ToPem());
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>Writes the default SVID, its key and the bundles; each file replaces the old one atomically.</summary>
    private static List<string> WriteFiles(X509Context context, X509Svid svid, string directory)
    {
        try
        {
            var written = new List<string>
            {
                AtomicFile.Write(directory, "svid.pem", svid.ToPem(), secret: false),
                AtomicFile.Write(directory, "svid_key.pem", svid.ExportPrivateKeyPem(), secret: true),
            };
            foreach (X509Bundle bundle in context.Bundles)
            {
                string name = bundle.TrustDomain.Equals(svid.Id.TrustDomain) ? "bundle.pem" : $"federated_bundle.{bundle.TrustDomain.Name}.pem";
                written.Add(AtomicFile.Write(directory, name, bundle.ToPem(), secret: false));
            }

            return written;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ErrorMessages.WriteFailed(directory, e);
        }
    }
}

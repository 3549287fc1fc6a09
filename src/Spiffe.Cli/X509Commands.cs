using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spiffe.Bundles;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Cli;

/// <summary><c>spiffe x509 fetch|watch</c>.</summary>
internal static class X509Commands
{
    public static Command Create(CliContext cli)
    {
        var write = new Option<DirectoryInfo?>("--write") { Description = "Also write svid.pem, svid_key.pem (mode 0600), bundle.pem and federated_bundle.<td>.pem to this directory, atomically" };
        var fetch = new Command("fetch", "Fetch the X509-SVIDs and bundles once") { write };
        fetch.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            await using WorkloadApiClient client = cli.CreateClient(parse);
            using X509Context context = await client.FetchX509ContextAsync(ct).ConfigureAwait(false);
            await PrintAsync(cli, parse.GetValue(cli.Json), context).ConfigureAwait(false);
            if (parse.GetValue(write) is { } directory)
            {
                IReadOnlyList<string> written = WriteFiles(context, directory.FullName);
                if (!parse.GetValue(cli.Json))
                {
                    await cli.Output.WriteLineAsync($"Wrote {string.Join(", ", written)} to {directory.FullName}").ConfigureAwait(false);
                }
            }
        }));

        var count = new Option<int?>("--count") { Description = "Stop after this many updates (default: until interrupted)" };
        var watch = new Command("watch", "Print every X.509 update until interrupted") { count };
        watch.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            int? limit = parse.GetValue(count);
            int seen = 0;
            await using WorkloadApiClient client = cli.CreateClient(parse);
            try
            {
                await foreach (X509Context context in client.WatchX509ContextAsync(ct).ConfigureAwait(false))
                {
                    using (context)
                    {
                        await PrintAsync(cli, parse.GetValue(cli.Json), context).ConfigureAwait(false);
                    }

                    if (++seen == limit)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Interrupted: a normal way to stop watching.
            }
        }));

        return new Command("x509", "X509-SVIDs and X.509 bundles") { fetch, watch };
    }

    private static async Task PrintAsync(CliContext cli, bool json, X509Context context)
    {
        if (json)
        {
            await Json.WriteAsync(cli.Output, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("svids");
                foreach (X509Svid svid in context.Svids)
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

        foreach (X509Svid svid in context.Svids)
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
    private static List<string> WriteFiles(X509Context context, string directory)
    {
        Directory.CreateDirectory(directory);
        X509Svid svid = context.DefaultSvid;
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
}

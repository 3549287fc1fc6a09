using System.CommandLine;
using Spiffe.Bundles;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli;

/// <summary><c>spiffe bundle show</c>.</summary>
internal static class BundleCommands
{
    public static Command Create(CliContext cli)
    {
        var show = new Command("show", "Show the X.509 and JWT bundles the workload trusts");
        show.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            await using WorkloadApiClient client = cli.CreateClient(parse);
            X509BundleSet x509 = await client.FetchX509BundlesAsync(ct).ConfigureAwait(false);
            try
            {
                JwtBundleSet jwt = await client.FetchJwtBundlesAsync(ct).ConfigureAwait(false);
                if (parse.GetValue(cli.Json))
                {
                    await Json.WriteAsync(cli.Output, w =>
                    {
                        w.WriteStartObject();
                        X509Commands.WriteBundles(w, x509);
                        w.WriteStartArray("jwt_bundles");
                        foreach (JwtBundle bundle in jwt.Bundles)
                        {
                            w.WriteStartObject();
                            w.WriteString("trust_domain", bundle.TrustDomain.Name);
                            w.WriteStartArray("key_ids");
                            foreach (JwtAuthority authority in bundle.JwtAuthorities)
                            {
                                w.WriteStringValue(authority.KeyId);
                            }

                            w.WriteEndArray();
                            w.WriteEndObject();
                        }

                        w.WriteEndArray();
                        w.WriteEndObject();
                    }).ConfigureAwait(false);
                    return;
                }

                foreach (X509Bundle bundle in x509)
                {
                    await cli.Output.WriteLineAsync($"X.509 bundle {bundle.TrustDomain}: {bundle.X509Authorities.Count} CA certificate(s)").ConfigureAwait(false);
                    foreach (var authority in bundle.X509Authorities)
                    {
                        await cli.Output.WriteLineAsync($"  {authority.Subject} (serial {authority.SerialNumber}, expires {authority.NotAfter.ToUniversalTime():u})").ConfigureAwait(false);
                    }
                }

                foreach (JwtBundle bundle in jwt.Bundles)
                {
                    await cli.Output.WriteLineAsync($"JWT bundle {bundle.TrustDomain}: keys {string.Join(", ", bundle.JwtAuthorities.Select(a => $"{a.KeyId} ({a.KeyType})"))}").ConfigureAwait(false);
                }
            }
            finally
            {
                foreach (X509Bundle bundle in x509)
                {
                    bundle.Dispose();
                }
            }
        }, ct));

        return new Command("bundle", "Trust bundles") { show };
    }
}

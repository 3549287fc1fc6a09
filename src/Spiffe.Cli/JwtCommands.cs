using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spiffe.Jwt;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli;

/// <summary><c>spiffe jwt fetch|validate</c>.</summary>
internal static class JwtCommands
{
    public static Command Create(CliContext cli)
    {
        var audiences = new Option<string[]>("--audience", "-a") { Description = "Audience (repeat for several)", Required = true };
        var subject = new Option<string?>("--spiffe-id") { Description = "Only the JWT-SVID of this SPIFFE ID" };
        var fetch = new Command("fetch", "Fetch JWT-SVIDs for the given audiences") { audiences, subject };
        fetch.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            SpiffeId? id = parse.GetValue(subject) is { } text ? OptionValues.SpiffeId("--spiffe-id", text) : null;
            string[] wanted = [.. parse.GetValue(audiences)!.Select(a => OptionValues.NotEmpty("--audience", a, "give the audience the token is for, e.g. --audience backend"))];
            await using WorkloadApiClient client = cli.CreateClient(parse);
            IReadOnlyList<JwtSvid> svids = await client.FetchJwtSvidsAsync(wanted, id, ct).ConfigureAwait(false);
            if (parse.GetValue(cli.Json))
            {
                await Json.WriteAsync(cli.Output, w =>
                {
                    w.WriteStartObject();
                    w.WriteStartArray("svids");
                    foreach (JwtSvid svid in svids)
                    {
                        w.WriteStartObject();
                        w.WriteString("spiffe_id", svid.Id.ToString());
                        w.WriteString("token", svid.Token);
                        if (svid.Hint is not null)
                        {
                            w.WriteString("hint", svid.Hint);
                        }

                        w.WriteString("expires_at", svid.ExpiresAt.ToString("o", CultureInfo.InvariantCulture));
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }).ConfigureAwait(false);
                return;
            }

            foreach (JwtSvid svid in svids)
            {
                await cli.Output.WriteLineAsync($"SPIFFE ID:  {svid.Id}").ConfigureAwait(false);
                await cli.Output.WriteLineAsync($"Audience:   {string.Join(", ", svid.Audience)}").ConfigureAwait(false);
                await cli.Output.WriteLineAsync($"Expires:    {svid.ExpiresAt:u}").ConfigureAwait(false);
                await cli.Output.WriteLineAsync($"Token:      {svid.Token}").ConfigureAwait(false);
            }
        }, ct));

        var audience = new Option<string>("--audience", "-a") { Description = "The audience the token must carry", Required = true };
        var token = new Option<string>("--token", "-t") { Description = "The JWT-SVID to validate", Required = true };
        var validate = new Command("validate", "Ask the Workload API to validate a JWT-SVID") { audience, token };
        validate.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            string tokenText = OptionValues.NotEmpty("--token", parse.GetValue(token), "give the JWT-SVID to validate, e.g. --token \"$(spiffe jwt fetch -a backend --json | jq -r '.svids[0].token')\"");
            string audienceText = OptionValues.NotEmpty("--audience", parse.GetValue(audience), "give the audience the token must carry, e.g. --audience backend");
            await using WorkloadApiClient client = cli.CreateClient(parse);
            JwtSvid svid = await client.ValidateJwtSvidAsync(tokenText, audienceText, ct).ConfigureAwait(false);
            if (parse.GetValue(cli.Json))
            {
                await Json.WriteAsync(cli.Output, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("status", "valid");
                    w.WriteString("spiffe_id", svid.Id.ToString());
                    w.WriteStartObject("claims");
                    foreach ((string name, JsonElement value) in svid.Claims)
                    {
                        w.WritePropertyName(name);
                        value.WriteTo(w);
                    }

                    w.WriteEndObject();
                    w.WriteEndObject();
                }).ConfigureAwait(false);
                return;
            }

            await cli.Output.WriteLineAsync($"Valid JWT-SVID for {svid.Id} (audience {string.Join(", ", svid.Audience)}, expires {svid.ExpiresAt:u})").ConfigureAwait(false);
        }, ct));

        return new Command("jwt", "JWT-SVIDs") { fetch, validate };
    }
}

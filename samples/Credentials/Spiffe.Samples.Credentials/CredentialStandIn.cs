using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.Bundles;
using Spiffe.Jwt;

namespace Spiffe.Samples;

/// <summary>
/// A LOCAL STAND-IN for Vault's JWT auth login and AWS STS <c>AssumeRoleWithWebIdentity</c>, so the sample runs where
/// neither exists. It is neither: it speaks their documented request and response shapes on loopback only, checks the
/// JWT-SVID the way a configured Vault role or IAM role would (signature against the trust domain's JWT bundle,
/// audience, subject) and hands out made-up credentials that open nothing.
/// </summary>
internal sealed class CredentialStandIn : IAsyncDisposable
{
    /// <summary>Every secret the stand-in hands out contains this, so a test can check none is ever printed.</summary>
    public const string SecretMarker = "standin-secret";

    private static readonly XNamespace Sts = "https://sts.amazonaws.com/doc/2011-06-15/";
    private readonly WebApplication _app;
    private int _vaultLogins;
    private int _stsCalls;

    private CredentialStandIn(WebApplication app) => _app = app;

    /// <summary>The stand-in's base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Address { get; private set; } = null!;

    public int VaultLogins => Volatile.Read(ref _vaultLogins);

    public int StsCalls => Volatile.Read(ref _stsCalls);

    /// <summary>Starts the stand-in on a free loopback port.</summary>
    /// <param name="bundles">The JWT bundles to check JWT-SVIDs with (Vault's <c>jwks_url</c> / the IAM OIDC provider's keys).</param>
    /// <param name="boundSubject">The SPIFFE ID both roles are bound to (Vault <c>bound_subject</c>, IAM <c>sub</c> condition); any when null.</param>
    public static async Task<CredentialStandIn> StartAsync(IJwtBundleSource bundles, SpiffeId? boundSubject, CredentialsSettings settings)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory }); // not the current directory's appsettings.json
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        var standIn = new CredentialStandIn(app);

        // Vault: POST /v1/auth/<mount>/login {"role": ..., "jwt": ...} -> {"auth": {"client_token", "lease_duration", ...}}
        app.MapPost($"/v1/auth/{settings.VaultMount.Trim('/')}/login", async (HttpContext http) =>
        {
            Interlocked.Increment(ref standIn._vaultLogins);
            string? role, jwt;
            try
            {
                using JsonDocument body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
                role = body.RootElement.TryGetProperty("role", out JsonElement r) ? r.GetString() : null;
                jwt = body.RootElement.TryGetProperty("jwt", out JsonElement j) ? j.GetString() : null;
            }
            catch (JsonException)
            {
                return VaultError(400, "failed to parse JSON input");
            }

            if (role != settings.VaultRole)
            {
                return VaultError(400, $"role \"{role}\" could not be found");
            }

            if (Check(jwt, bundles, settings.VaultAudience, boundSubject) is { } refusal)
            {
                return VaultError(400, $"error validating token: {refusal}");
            }

            const int LeaseSeconds = 3600;
            string json = Json(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("request_id", Guid.NewGuid().ToString());
                writer.WriteString("lease_id", "");
                writer.WriteBoolean("renewable", false);
                writer.WriteNumber("lease_duration", 0);
                writer.WriteNull("data");
                writer.WriteStartObject("auth");
                writer.WriteString("client_token", $"hvs.{SecretMarker}-{RandomNumberGenerator.GetHexString(24, lowercase: true)}");
                writer.WriteString("accessor", RandomNumberGenerator.GetHexString(24, lowercase: true));
                writer.WriteStartArray("policies");
                writer.WriteStringValue("default");
                writer.WriteStringValue(settings.VaultRole);
                writer.WriteEndArray();
                writer.WriteStartObject("metadata");
                writer.WriteString("role", settings.VaultRole);
                writer.WriteEndObject();
                writer.WriteNumber("lease_duration", LeaseSeconds);
                writer.WriteBoolean("renewable", true);
                writer.WriteString("token_type", "service");
                writer.WriteEndObject();
                writer.WriteEndObject();
            });
            return Results.Text(json, "application/json", statusCode: 200);
        });

        // STS: POST / Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn&RoleSessionName&WebIdentityToken[&DurationSeconds]
        app.MapPost("/", async (HttpContext http) =>
        {
            Interlocked.Increment(ref standIn._stsCalls);
            if (!http.Request.HasFormContentType)
            {
                return StsError(400, "Sender", "InvalidAction", "expected an application/x-www-form-urlencoded query API request");
            }

            IFormCollection form = await http.Request.ReadFormAsync(http.RequestAborted);
            if (form["Action"] != "AssumeRoleWithWebIdentity" || form["Version"] != "2011-06-15")
            {
                return StsError(400, "Sender", "InvalidAction", $"Could not find operation {form["Action"]} for version {form["Version"]}");
            }

            if (form["RoleArn"] != settings.RoleArn)
            {
                return StsError(403, "Sender", "AccessDenied", $"Not authorized to perform sts:AssumeRoleWithWebIdentity on {form["RoleArn"]}");
            }

            string? token = form["WebIdentityToken"];
            if (Check(token, bundles, settings.StsAudience, boundSubject) is { } refusal)
            {
                return StsError(400, "Sender", "InvalidIdentityToken", refusal);
            }

            int seconds = int.TryParse(form["DurationSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out int d) ? d : 3600;
            var answer = new XElement(Sts + "AssumeRoleWithWebIdentityResponse",
                new XElement(Sts + "AssumeRoleWithWebIdentityResult",
                    new XElement(Sts + "SubjectFromWebIdentityToken", JwtSvid.ParseInsecure(token!, [settings.StsAudience]).Id.ToString()),
                    new XElement(Sts + "Audience", settings.StsAudience),
                    new XElement(Sts + "AssumedRoleUser",
                        new XElement(Sts + "Arn", $"{settings.RoleArn.Replace(":iam::", ":sts::", StringComparison.Ordinal).Replace(":role/", ":assumed-role/", StringComparison.Ordinal)}/{form["RoleSessionName"]}"),
                        new XElement(Sts + "AssumedRoleId", $"AROA{RandomNumberGenerator.GetHexString(16)}:{form["RoleSessionName"]}")),
                    new XElement(Sts + "Credentials",
                        new XElement(Sts + "SessionToken", $"{SecretMarker}-session-{RandomNumberGenerator.GetHexString(48, lowercase: true)}"),
                        new XElement(Sts + "SecretAccessKey", $"{SecretMarker}-{RandomNumberGenerator.GetHexString(24, lowercase: true)}"),
                        new XElement(Sts + "Expiration", DateTimeOffset.UtcNow.AddSeconds(seconds).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
                        new XElement(Sts + "AccessKeyId", "ASIA" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))),
                    new XElement(Sts + "Provider", "local-stand-in")),
                new XElement(Sts + "ResponseMetadata", new XElement(Sts + "RequestId", Guid.NewGuid().ToString())));
            return Results.Text(answer.ToString(), "text/xml", statusCode: 200);
        });

        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        standIn.Address = new Uri(address.TrimEnd('/') + "/");
        return standIn;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>What a Vault role or an IAM OIDC trust policy checks; null when the JWT-SVID passes, else why not.</summary>
    private static string? Check(string? token, IJwtBundleSource bundles, string audience, SpiffeId? boundSubject)
    {
        if (string.IsNullOrEmpty(token))
        {
            return "no JWT given";
        }

        try
        {
            JwtSvid svid = JwtSvid.ParseAndValidate(token, bundles, [audience]);
            return boundSubject is null || svid.Id == boundSubject ? null : $"sub {svid.Id} is not the bound subject {boundSubject}";
        }
        catch (JwtSvidException e)
        {
            return e.Message;
        }
    }

    private static IResult VaultError(int status, string error) =>
        Results.Text(
            Json(writer =>
            {
                writer.WriteStartObject();
                writer.WriteStartArray("errors");
                writer.WriteStringValue(error);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }),
            "application/json",
            statusCode: status);

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static IResult StsError(int status, string type, string code, string message) =>
        Results.Text(
            new XElement(Sts + "ErrorResponse",
                new XElement(Sts + "Error", new XElement(Sts + "Type", type), new XElement(Sts + "Code", code), new XElement(Sts + "Message", message)),
                new XElement(Sts + "RequestId", Guid.NewGuid().ToString())).ToString(),
            "text/xml",
            statusCode: status);
}

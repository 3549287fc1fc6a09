using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Authentication;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Conformance.Harness;

/// <summary>
/// The control port's endpoints. Every body is JSON with a <c>status</c> that matches the code:
/// 200 <c>ok</c>, 422 <c>rejected</c> (the SDK refused the input), 500 <c>error</c> (something
/// broke), 501 <c>unsupported</c> (an endpoint under <c>/v1/</c> this harness does not know).
/// Outside the contract: 400 <c>bad_request</c> for a body that is not the JSON the contract
/// describes (a runner bug, not an SDK verdict), 404 <c>not_found</c> outside <c>/v1/</c>,
/// 405 <c>method_not_allowed</c>.
/// </summary>
internal sealed class ControlApi(Harness harness, ILogger log)
{
    private const int MaxBodyBytes = 1 << 20;
    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(10);
    private static readonly string s_sdkVersion =
        typeof(X509Svid).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public async Task HandleAsync(HttpContext context)
    {
        string method = context.Request.Method;
        string path = context.Request.Path.Value ?? "/";
        Reply reply;
        try
        {
            reply = (method, path) switch
            {
                ("GET", "/v1/info") => Info(),
                ("POST", "/v1/jwt/validate") => await WithBodyAsync(context, ValidateJwtAsync).ConfigureAwait(false),
                ("POST", "/v1/jwt/fetch") => await WithBodyAsync(context, FetchJwtAsync).ConfigureAwait(false),
                ("POST", "/v1/x509/dial") => await WithBodyAsync(context, DialAsync).ConfigureAwait(false),
                (_, "/v1/info" or "/v1/jwt/validate" or "/v1/jwt/fetch" or "/v1/x509/dial") => Reply.Status(405, "method_not_allowed", $"{method} is not allowed on {path}"),
                _ when path.StartsWith("/v1/", StringComparison.Ordinal) => Reply.Status(501, "unsupported", $"{path} is not implemented by this harness"),
                _ => Reply.Status(404, "not_found", $"{path} is not part of the harness contract"),
            };
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // the runner went away
        }
        catch (Exception e)
        {
            HarnessLog.ControlFailed(log, method, path, e);
            reply = Reply.Error(e.GetType().Name + ": " + e.Message);
        }

        HarnessLog.ControlRequest(log, method, path, reply.Code, reply.Detail);
        context.Response.StatusCode = reply.Code;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = reply.Body.Length;
        await context.Response.Body.WriteAsync(reply.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private static Reply Info() => Reply.Ok(w =>
    {
        w.WriteString("sdk", "spiffe-dotnet");
        w.WriteString("sdk_version", s_sdkVersion);
        w.WriteString("language", "csharp");
    });

    /// <summary>Local validation: the SDK's <see cref="JwtSvidValidator"/> over the JWT bundles of its <see cref="JwtSource"/>.</summary>
    private async Task<Reply> ValidateJwtAsync(JsonElement body, CancellationToken cancellationToken)
    {
        if (!TryGetString(body, "token", out string? token) || !TryGetString(body, "audience", out string? audience))
        {
            return Reply.BadRequest("expected {\"token\": string, \"audience\": string}");
        }

        IJwtBundleSource bundles = await harness.GetJwtBundlesAsync(cancellationToken).ConfigureAwait(false);
        JwtSvid svid;
        try
        {
            JwtSvidValidationResult result = new JwtSvidValidator(bundles, [audience]).Validate(token);
            if (!result.IsValid)
            {
                return Reply.Rejected(result.Error);
            }

            svid = result.Svid;
        }
        catch (Exception e) when (e is ArgumentException or SpiffeException)
        {
            return Reply.Rejected(e.Message);
        }

        return Reply.Ok(w =>
        {
            w.WriteString("spiffe_id", svid.Id.ToString());
            w.WriteStartObject("claims");
            foreach ((string name, JsonElement value) in svid.Claims)
            {
                w.WritePropertyName(name);
                value.WriteTo(w);
            }

            w.WriteEndObject();
        });
    }

    /// <summary>
    /// A fresh <c>FetchJWTSVID</c> call with exactly the requested audiences: straight to the
    /// <see cref="WorkloadApiClient"/>, never through the caching <see cref="JwtSource"/>.
    /// </summary>
    private async Task<Reply> FetchJwtAsync(JsonElement body, CancellationToken cancellationToken)
    {
        if (!body.TryGetProperty("audience", out JsonElement audienceJson) || !TryGetStrings(audienceJson, out List<string>? audiences))
        {
            return Reply.BadRequest("expected {\"audience\": [string...], \"spiffe_id\": string (optional)}");
        }

        SpiffeId? subject = null;
        if (body.TryGetProperty("spiffe_id", out JsonElement subjectJson) && subjectJson.ValueKind != JsonValueKind.Null)
        {
            if (subjectJson.ValueKind != JsonValueKind.String)
            {
                return Reply.BadRequest("spiffe_id must be a string");
            }

            string text = subjectJson.GetString()!;
            if (text.Length > 0 && !SpiffeId.TryParse(text, out subject))
            {
                return Reply.Rejected($"not a SPIFFE ID: \"{text}\"");
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_callTimeout);
        IReadOnlyList<JwtSvid> svids;
        try
        {
            svids = await harness.Client.FetchJwtSvidsAsync(audiences, subject, timeout.Token).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            return Reply.Rejected(e.Message);
        }
        catch (WorkloadApiException e) when (e.Kind is WorkloadApiErrorKind.PermissionDenied or WorkloadApiErrorKind.InvalidArgument or WorkloadApiErrorKind.MalformedResponse)
        {
            return Reply.Rejected($"{e.Kind}: {e.Message}");
        }
        catch (WorkloadApiException e)
        {
            return Reply.Error($"{e.Kind}: {e.Message}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Reply.Error($"FetchJWTSVID did not answer within {s_callTimeout.TotalSeconds:0} s");
        }

        return Reply.Ok(w =>
        {
            w.WriteStartArray("svids");
            foreach (JwtSvid svid in svids)
            {
                w.WriteStartObject();
                w.WriteString("spiffe_id", svid.Id.ToString());
                w.WriteString("token", svid.Token);
                w.WriteString("hint", svid.Hint ?? string.Empty);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }, $"{svids.Count} SVID(s)");
    }

    /// <summary>Mutual TLS to the given address with the SDK's <see cref="SpiffeTlsClient"/>; returns the server's SPIFFE ID.</summary>
    private async Task<Reply> DialAsync(JsonElement body, CancellationToken cancellationToken)
    {
        if (!TryGetString(body, "address", out string? address) || !TryParseAddress(address, out string? host, out int port))
        {
            return Reply.BadRequest("expected {\"address\": \"host:port\"}");
        }

        if (harness.DialClient is not { } tlsClient)
        {
            return Reply.Error("no X509-SVID yet");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_callTimeout);
        using var tcp = new TcpClient(AddressFamily.InterNetwork);
        try
        {
            await tcp.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return Reply.Error($"cannot connect to {address}: {e.Message}");
        }

        var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                // GetOptions throws when the SDK holds no SVID to present (withdrawn): a refusal, not a crash.
                SslClientAuthenticationOptions options = tlsClient.GetOptions(host);
                await stream.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
                SpiffeId server = stream.GetRemoteSpiffeId();
                return Reply.Ok(w => w.WriteString("spiffe_id", server.ToString()), server.ToString());
            }
            catch (Exception e) when (e is AuthenticationException or IOException or SpiffeException)
            {
                // Includes a server that aborted because it refused our certificate.
                return Reply.Rejected(e.InnerException is null ? e.Message : $"{e.Message} ({e.InnerException.Message})");
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return Reply.Error($"the TLS handshake with {address} did not finish within {s_callTimeout.TotalSeconds:0} s");
            }
        }
    }

    private static async Task<Reply> WithBodyAsync(HttpContext context, Func<JsonElement, CancellationToken, Task<Reply>> handler)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return Reply.BadRequest($"the body is larger than {MaxBodyBytes} bytes");
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return Reply.BadRequest("the body is not JSON: " + e.Message);
        }

        using (document)
        {
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? await handler(document.RootElement, context.RequestAborted).ConfigureAwait(false)
                : Reply.BadRequest("the body must be a JSON object");
        }
    }

    private static bool TryGetString(JsonElement body, string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        value = body.TryGetProperty(name, out JsonElement element) && element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        return value is not null;
    }

    // The contract sends an array; a lone string is taken as a one-element list.
    private static bool TryGetStrings(JsonElement element, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out List<string>? values)
    {
        values = null;
        if (element.ValueKind == JsonValueKind.String)
        {
            values = [element.GetString()!];
            return true;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var list = new List<string>(element.GetArrayLength());
        foreach (JsonElement item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            list.Add(item.GetString()!);
        }

        values = list;
        return true;
    }

    private static bool TryParseAddress(string address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? host, out int port)
    {
        host = null;
        port = 0;
        if (IPEndPoint.TryParse(address, out IPEndPoint? endPoint) && endPoint.Port != 0)
        {
            host = endPoint.Address.ToString();
            port = endPoint.Port;
            return true;
        }

        int colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = address[..colon];
        return true;
    }

    /// <summary>A serialized response.</summary>
    private sealed record Reply(int Code, byte[] Body, string Detail)
    {
        // A JSON API read by programs, never embedded in HTML: "0.1.0+abc" stays readable instead of "0.1.0\u002Babc".
        private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        public static Reply Ok(Action<Utf8JsonWriter> fields, string detail = "") => Build(200, "ok", fields, detail);

        public static Reply Rejected(string error) => Status(422, "rejected", error);

        public static Reply Error(string error) => Status(500, "error", error);

        public static Reply BadRequest(string error) => Status(400, "bad_request", error);

        public static Reply Status(int code, string status, string error) => Build(code, status, w => w.WriteString("error", error), error);

        private static Reply Build(int code, string status, Action<Utf8JsonWriter> fields, string detail)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
            {
                writer.WriteStartObject();
                writer.WriteString("status", status);
                fields(writer);
                writer.WriteEndObject();
            }

            return new Reply(code, buffer.WrittenSpan.ToArray(), detail);
        }
    }
}

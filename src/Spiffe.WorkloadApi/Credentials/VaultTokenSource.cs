using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spiffe.Jwt;

namespace Spiffe.Credentials;

/// <summary>
/// Trades the workload's JWT-SVID for a Vault token through Vault's JWT auth method
/// (<c>POST /v1/auth/&lt;mount&gt;/login</c> with <c>role</c> and <c>jwt</c>), and caches the token until shortly before
/// its lease ends. Thread-safe; concurrent callers share one login.
/// </summary>
/// <example>
/// <code>
/// await using var vault = new VaultTokenSource(new VaultTokenSourceOptions
/// {
///     VaultAddress = new Uri("https://vault:8200"), Role = "orders", JwtSvidSource = jwtSource, Audiences = { "vault" },
/// });
/// request.Headers.Add("X-Vault-Token", (await vault.GetTokenAsync(ct)).ClientToken);
/// </code>
/// </example>
public sealed class VaultTokenSource : IAsyncDisposable
{
    private readonly VaultTokenSourceOptions _options;
    private readonly Uri _loginUrl;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CredentialCache<VaultToken> _cache;
    private readonly string[] _audiences;

    /// <summary>Creates the source; no request is made until <see cref="GetTokenAsync"/>.</summary>
    /// <exception cref="ArgumentException">A required option is missing or invalid.</exception>
    public VaultTokenSource(VaultTokenSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.VaultAddress is not { IsAbsoluteUri: true } address || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("VaultAddress must be an absolute http(s) URL, e.g. https://vault:8200.", nameof(options));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(options.Role, nameof(options) + ".Role");
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Mount, nameof(options) + ".Mount");
        ArgumentNullException.ThrowIfNull(options.JwtSvidSource, nameof(options) + ".JwtSvidSource");
        if (options.Audiences.Count == 0 || options.Audiences.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Audiences must hold at least one non-empty audience (the Vault role's bound_audiences).", nameof(options));
        }

        _options = options;
        _audiences = [.. options.Audiences];
        _loginUrl = new Uri(address, $"v1/auth/{options.Mount.Trim('/')}/login");
        _ownsHttp = options.HttpClient is null;
        _http = options.HttpClient ?? new HttpClient();
        _time = options.TimeProvider ?? TimeProvider.System;
        _logger = options.LoggerFactory?.CreateLogger("Spiffe.Credentials.VaultTokenSource") ?? NullLogger.Instance;
        _cache = new CredentialCache<VaultToken>(_time);
    }

    /// <summary>A Vault token valid now: the cached one, or a new login with a current JWT-SVID.</summary>
    /// <exception cref="CredentialExchangeException">Vault refused the login or could not be reached; nothing is cached.</exception>
    /// <exception cref="SpiffeException">No JWT-SVID could be had from the source.</exception>
    public ValueTask<VaultToken> GetTokenAsync(CancellationToken cancellationToken = default) =>
        _cache.GetAsync(LoginAsync, cancellationToken);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _cache.Dispose();
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private async Task<(VaultToken, DateTimeOffset)> LoginAsync(CancellationToken cancellationToken)
    {
        JwtSvid svid = await _options.JwtSvidSource!.GetJwtSvidAsync(new JwtSvidRequest(_audiences, _options.Subject), cancellationToken).ConfigureAwait(false);
        using var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartObject();
            json.WriteString("role", _options.Role);
            json.WriteString("jwt", svid.Token);
            json.WriteEndObject();
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, _loginUrl) { Content = new ByteArrayContent(body.ToArray()) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (_options.Namespace is { Length: > 0 } ns)
        {
            request.Headers.Add("X-Vault-Namespace", ns);
        }

        DateTimeOffset sent = _time.GetUtcNow();
        string text;
        System.Net.HttpStatusCode status;
        try
        {
            using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            status = response.StatusCode;
            text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Fail($"cannot reach Vault at {_loginUrl}: {e.Message}", e);
        }

        if ((int)status is < 200 or > 299)
        {
            throw Fail($"Vault refused the JWT login for role {_options.Role} at {_loginUrl} with HTTP {(int)status}: {VaultErrors(text)}; check the role's bound_audiences and bound_subject against {svid.Id} and the audiences {string.Join(", ", _audiences)}", null);
        }

        VaultToken token;
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            JsonElement auth = document.RootElement.GetProperty("auth");
            string clientToken = auth.GetProperty("client_token").GetString() ?? throw new FormatException("auth.client_token is null");
            long lease = auth.GetProperty("lease_duration").GetInt64();
            bool renewable = auth.TryGetProperty("renewable", out JsonElement r) && r.ValueKind == JsonValueKind.True;
            if (clientToken.Length == 0 || lease <= 0)
            {
                throw new FormatException("auth.client_token is empty or auth.lease_duration is not positive");
            }

            token = new VaultToken(clientToken, sent.AddSeconds(lease), renewable);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Fail($"Vault at {_loginUrl} answered the login without a usable auth.client_token and auth.lease_duration ({e.Message})", e);
        }

        CredentialsLog.VaultLogin(_logger, svid.Id.ToString(), _loginUrl, _options.Role!, token.ExpiresAt);
        return (token, CredentialCache<VaultToken>.RefreshAt(sent, token.ExpiresAt, _options.RefreshBefore));
    }

    /// <summary>Vault's <c>errors</c> array, or the HTTP body's first line (a proxy's error page).</summary>
    private static string VaultErrors(string text)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            if (document.RootElement.TryGetProperty("errors", out JsonElement errors) && errors.ValueKind == JsonValueKind.Array)
            {
                return string.Join("; ", errors.EnumerateArray().Select(e => e.ToString()));
            }
        }
        catch (JsonException)
        {
            // Not Vault's JSON: show what came back instead.
        }

        string first = text.Split('\n', 2)[0].Trim();
        return first.Length > 200 ? first[..200] : first.Length == 0 ? "(empty body)" : first;
    }

    private CredentialExchangeException Fail(string message, Exception? inner)
    {
        CredentialsLog.ExchangeFailed(_logger, _loginUrl, message);
        return new CredentialExchangeException(message, inner);
    }
}

using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spiffe.Jwt;

namespace Spiffe.Credentials;

/// <summary>
/// Trades the workload's JWT-SVID for temporary AWS credentials with STS <c>AssumeRoleWithWebIdentity</c> (the query
/// API, an unsigned request: the JWT-SVID is the web identity token), and caches them until shortly before they
/// expire. Thread-safe; concurrent callers share one request.
/// </summary>
/// <example>
/// <code>
/// await using var aws = new AwsCredentialSource(new AwsCredentialSourceOptions
/// {
///     RoleArn = "arn:aws:iam::123456789012:role/orders", JwtSvidSource = jwtSource, Audiences = { "sts.amazonaws.com" },
/// });
/// AwsCredentials credentials = await aws.GetCredentialsAsync(ct);
/// </code>
/// </example>
public sealed class AwsCredentialSource : IAsyncDisposable
{
    private const string ApiVersion = "2011-06-15";
    private static readonly TimeSpan s_minDuration = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan s_maxDuration = TimeSpan.FromHours(12);

    private readonly AwsCredentialSourceOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CredentialCache<AwsCredentials> _cache;
    private readonly string[] _audiences;

    /// <summary>Creates the source; no request is made until <see cref="GetCredentialsAsync"/>.</summary>
    /// <exception cref="ArgumentException">A required option is missing or invalid.</exception>
    public AwsCredentialSource(AwsCredentialSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.StsEndpoint, nameof(options) + ".StsEndpoint");
        if (!options.StsEndpoint.IsAbsoluteUri || (options.StsEndpoint.Scheme != Uri.UriSchemeHttps && options.StsEndpoint.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("StsEndpoint must be an absolute http(s) URL, e.g. https://sts.amazonaws.com/.", nameof(options));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(options.RoleArn, nameof(options) + ".RoleArn");
        ArgumentNullException.ThrowIfNull(options.JwtSvidSource, nameof(options) + ".JwtSvidSource");
        if (options.RoleSessionName is not { Length: >= 2 and <= 64 } name || !name.All(c => char.IsAsciiLetterOrDigit(c) || "_+=,.@-".Contains(c, StringComparison.Ordinal)))
        {
            throw new ArgumentException("RoleSessionName must be 2 to 64 letters, digits or _+=,.@- characters.", nameof(options));
        }

        if (options.Duration is { } duration && (duration < s_minDuration || duration > s_maxDuration))
        {
            throw new ArgumentException("Duration must be between 15 minutes and 12 hours (STS DurationSeconds).", nameof(options));
        }

        if (options.Audiences.Count == 0 || options.Audiences.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Audiences must hold at least one non-empty audience (the OIDC provider's client ID).", nameof(options));
        }

        _options = options;
        _audiences = [.. options.Audiences];
        _ownsHttp = options.HttpClient is null;
        _http = options.HttpClient ?? new HttpClient();
        _time = options.TimeProvider ?? TimeProvider.System;
        _logger = options.LoggerFactory?.CreateLogger("Spiffe.Credentials.AwsCredentialSource") ?? NullLogger.Instance;
        _cache = new CredentialCache<AwsCredentials>(_time);
    }

    /// <summary>Credentials valid now: the cached ones, or new ones assumed with a current JWT-SVID.</summary>
    /// <exception cref="CredentialExchangeException">STS refused (its error code and message) or could not be reached; nothing is cached.</exception>
    /// <exception cref="SpiffeException">No JWT-SVID could be had from the source.</exception>
    public ValueTask<AwsCredentials> GetCredentialsAsync(CancellationToken cancellationToken = default) =>
        _cache.GetAsync(AssumeRoleAsync, cancellationToken);

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

    private async Task<(AwsCredentials, DateTimeOffset)> AssumeRoleAsync(CancellationToken cancellationToken)
    {
        JwtSvid svid = await _options.JwtSvidSource!.GetJwtSvidAsync(new JwtSvidRequest(_audiences, _options.Subject), cancellationToken).ConfigureAwait(false);
        var form = new List<KeyValuePair<string, string>>
        {
            new("Action", "AssumeRoleWithWebIdentity"),
            new("Version", ApiVersion),
            new("RoleArn", _options.RoleArn!),
            new("RoleSessionName", _options.RoleSessionName),
            new("WebIdentityToken", svid.Token),
        };
        if (_options.Duration is { } duration)
        {
            form.Add(new("DurationSeconds", ((long)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture)));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, _options.StsEndpoint) { Content = new FormUrlEncodedContent(form) };
        DateTimeOffset sent = _time.GetUtcNow();
        string text;
        int status;
        try
        {
            using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            status = (int)response.StatusCode;
            text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Fail($"cannot reach AWS STS at {_options.StsEndpoint}: {e.Message}", e);
        }

        XElement root;
        try
        {
            root = XDocument.Parse(text).Root ?? throw new XmlException("no root element");
        }
        catch (XmlException e)
        {
            throw Fail($"AWS STS at {_options.StsEndpoint} answered HTTP {status} with something that is not its XML response", e);
        }

        if (status is < 200 or > 299 || root.Name.LocalName == "ErrorResponse")
        {
            XElement? error = Child(root, "Error");
            string code = Child(error, "Code")?.Value ?? "unknown";
            string message = Child(error, "Message")?.Value ?? "(no message)";
            throw Fail($"AWS STS refused AssumeRoleWithWebIdentity for {_options.RoleArn} with HTTP {status}, {code}: {message}; check the role's trust policy (OIDC provider of {svid.Id.TrustDomain}, audience {string.Join(", ", _audiences)}, subject {svid.Id})", null);
        }

        XElement? credentials = Child(Child(root, "AssumeRoleWithWebIdentityResult"), "Credentials");
        string? accessKeyId = Child(credentials, "AccessKeyId")?.Value;
        string? secret = Child(credentials, "SecretAccessKey")?.Value;
        string? session = Child(credentials, "SessionToken")?.Value;
        string? expiration = Child(credentials, "Expiration")?.Value;
        if (string.IsNullOrEmpty(accessKeyId) || string.IsNullOrEmpty(secret) || string.IsNullOrEmpty(session)
            || !DateTimeOffset.TryParse(expiration, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset expiresAt))
        {
            throw Fail($"AWS STS at {_options.StsEndpoint} answered without AccessKeyId, SecretAccessKey, SessionToken and Expiration in AssumeRoleWithWebIdentityResult/Credentials", null);
        }

        var result = new AwsCredentials(accessKeyId, secret, session, expiresAt);
        CredentialsLog.AwsAssumeRole(_logger, svid.Id.ToString(), _options.StsEndpoint, _options.RoleArn!, accessKeyId, expiresAt);
        return (result, CredentialCache<AwsCredentials>.RefreshAt(sent, expiresAt, _options.RefreshBefore));
    }

    private static XElement? Child(XElement? parent, string name) =>
        parent?.Elements().FirstOrDefault(e => e.Name.LocalName == name);

    private CredentialExchangeException Fail(string message, Exception? inner)
    {
        CredentialsLog.ExchangeFailed(_logger, _options.StsEndpoint, message);
        return new CredentialExchangeException(message, inner);
    }
}

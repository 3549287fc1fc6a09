using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Spiffe.AspNetCore.Audit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Spiffe.Bundles;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>
/// <c>Authorization: Bearer &lt;JWT-SVID&gt;</c> validated locally against the JWT bundles. No header
/// or another scheme: no result (other schemes may apply). A malformed header or an invalid token:
/// a failure whose reason goes to the log, and a 401 challenge with a generic description (RFC 6750 §3).
/// </summary>
internal sealed class SpiffeJwtAuthenticationHandler(IOptionsMonitor<SpiffeJwtAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<SpiffeJwtAuthenticationOptions>(options, logger, encoder)
{
    internal const string InvalidTokenDescription = "The bearer token is not a valid JWT-SVID for this service.";
    internal const string InvalidRequestDescription = "The Authorization header is not a single well-formed bearer credential.";
    private const string BearerScheme = "Bearer";

    private string? _error;

    private new SpiffeJwtAuthenticationEvents Events
    {
        get => (SpiffeJwtAuthenticationEvents)base.Events!;
        set => base.Events = value;
    }

    protected override Task<object> CreateEventsAsync() => Task.FromResult<object>(new SpiffeJwtAuthenticationEvents());

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        Context.Features.Get<SpiffeAuditRecord>()?.SchemeReached = true;
        StringValues values = Request.Headers.Authorization;
        if (values.Count == 0)
        {
            return AuthenticateResult.NoResult();
        }

        if (values.Count > 1)
        {
            return await FailAsync("invalid_request", "More than one Authorization header.").ConfigureAwait(false);
        }

        string value = values[0] ?? string.Empty;
        int space = value.IndexOf(' ', StringComparison.Ordinal);
        string scheme = space < 0 ? value : value[..space];
        if (!scheme.Equals(BearerScheme, StringComparison.OrdinalIgnoreCase))
        {
            // Another scheme's credential (Basic, Negotiate...): not ours to judge.
            return AuthenticateResult.NoResult();
        }

        string token = space < 0 ? string.Empty : value[(space + 1)..].Trim(' ');
        if (token.Length == 0 || token.Contains(' ', StringComparison.Ordinal))
        {
            return await FailAsync("invalid_request", "The Bearer credential is missing or malformed.").ConfigureAwait(false);
        }

        JwtSvidAuthenticator authenticator = GetAuthenticator();
        if (!authenticator.TryValidate(token, out JwtSvidAuthenticator.Entry? entry, out string? reason))
        {
            return await FailAsync("invalid_token", reason).ConfigureAwait(false);
        }

        JwtSvid svid = entry.Svid;
        string issuer = ClaimsIssuer;
        var identity = new SpiffeClaimsIdentity(svid.Id, svid, SpiffeAuthenticationDefaults.JwtAuthenticationType);
        identity.AddSpiffeIdClaims(issuer);
        entry.AddClaimsTo(identity, issuer);
        var principal = new ClaimsPrincipal(identity);

        AuthenticateResult result;
        if (Events.ValidatedIsNoOp)
        {
            // The default events: the same result as below without building a context per request.
            result = AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
        }
        else
        {
            var validated = new SpiffeJwtValidatedContext(Context, Scheme, Options, svid) { Principal = principal };
            await Events.Validated(validated).ConfigureAwait(false);
            if (validated.Result is { Succeeded: false })
            {
                _error = "invalid_token";
                return validated.Result;
            }

            if (validated.Result is null)
            {
                validated.Success();
            }

            result = validated.Result!;
        }

        Context.Features.Set(new JwtSvidFeature(svid));
        if (Logger.IsEnabled(LogLevel.Debug))
        {
            SpiffeAuthenticationLog.JwtSvidAccepted(Logger, Scheme.Name, svid.Id);
        }

        return result;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        AuthenticateResult result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        var context = new SpiffeJwtChallengeContext(Context, Scheme, Options, properties)
        {
            AuthenticateFailure = result.Failure,
            Error = _error,
            ErrorDescription = _error switch
            {
                "invalid_token" => InvalidTokenDescription,
                "invalid_request" => InvalidRequestDescription,
                _ => null,
            },
        };
        await Events.Challenge(context).ConfigureAwait(false);
        if (context.Handled)
        {
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append(HeaderNames.WWWAuthenticate, context.Error is null
            ? BearerScheme
            : context.ErrorDescription is null
                ? $"{BearerScheme} error=\"{Quoted(context.Error)}\""
                : $"{BearerScheme} error=\"{Quoted(context.Error)}\", error_description=\"{Quoted(context.ErrorDescription)}\"");
    }

    private async Task<AuthenticateResult> FailAsync(string error, string reason)
    {
        _error = error;
        if (error == "invalid_request")
        {
            SpiffeAuthenticationLog.MalformedAuthorizationHeader(Logger, Scheme.Name, reason);
        }
        else
        {
            SpiffeAuthenticationLog.JwtSvidRejected(Logger, Scheme.Name, reason);
        }

        var failed = new SpiffeJwtAuthenticationFailedContext(Context, Scheme, Options, reason);
        await Events.AuthenticationFailed(failed).ConfigureAwait(false);
        return failed.Result ?? AuthenticateResult.Fail(reason);
    }

    private JwtSvidAuthenticator GetAuthenticator()
    {
        SpiffeJwtAuthenticationOptions options = Options;
        JwtSvidAuthenticator? existing = Volatile.Read(ref options.Authenticator);
        if (existing is not null)
        {
            return existing;
        }

        JwtSvidValidator validator = options.Validator ?? new JwtSvidValidator(
            options.BundleSource ?? Context.RequestServices.GetService<IJwtBundleSource>()
                ?? throw new InvalidOperationException(SpiffeJwtOptionsValidator.NoBundleSource(Scheme.Name)),
            [.. options.Audiences],
            options.TimeProvider,
            options.Leeway);
        var created = new JwtSvidAuthenticator(validator, options.CacheSize);
        return Interlocked.CompareExchange(ref options.Authenticator, created, null) ?? created;
    }

    // RFC 6750 §3: quoted values hold %x20-21 / %x23-5B / %x5D-7E only.
    private static string Quoted(string text) =>
        string.Create(text.Length, text, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                span[i] = c is >= ' ' and <= '~' and not '"' and not '\\' ? c : '\'';
            }
        });
}

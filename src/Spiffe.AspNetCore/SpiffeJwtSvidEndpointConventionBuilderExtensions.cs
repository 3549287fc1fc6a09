using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Spiffe.Bundles;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore;

/// <summary>
/// A minimal per-endpoint check of a bearer JWT-SVID (<c>Authorization: Bearer &lt;token&gt;</c>),
/// validated locally against JWT bundles for the endpoint's audience(s). The validated
/// <see cref="JwtSvid"/> is then available through <see cref="SpiffeHttpContextExtensions.GetJwtSvid"/>.
/// </summary>
/// <remarks>
/// <para>
/// Answers 401 with a <c>WWW-Authenticate: Bearer</c> challenge when the header is missing, uses
/// another scheme (<c>Basic</c>, ...), is malformed, or the token is invalid (bad signature, key not
/// in the bundle, wrong audience, expired, ...). The reason is in the challenge's
/// <c>error_description</c> and in the plain-text body; the token itself is never echoed. The scheme
/// name is matched case-insensitively. With a <see cref="SpiffeIdAuthorizer"/>, a valid token whose
/// SPIFFE ID is not allowed gets 403.
/// </para>
/// <code>
/// app.MapGet("/orders", (HttpContext c) => c.GetJwtSvid().Id.ToString())
///    .RequireJwtSvid(jwtSource, "spiffe://example.org/orders");
/// </code>
/// </remarks>
public static class SpiffeJwtSvidEndpointConventionBuilderExtensions
{
    private const string Scheme = "Bearer";

    /// <summary>
    /// Allows the endpoint only to requests with a bearer JWT-SVID that is valid against
    /// <paramref name="bundleSource"/> and carries one of <paramref name="audiences"/> (system clock, default leeway).
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="audiences"/> is empty or holds a null or empty value.</exception>
    public static TBuilder RequireJwtSvid<TBuilder>(this TBuilder builder, IJwtBundleSource bundleSource, params string[] audiences)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(bundleSource);
        return RequireJwtSvid(builder, new JwtSvidValidator(bundleSource, audiences));
    }

    /// <summary>Allows the endpoint only to requests with a bearer JWT-SVID that <paramref name="validator"/> accepts.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static TBuilder RequireJwtSvid<TBuilder>(this TBuilder builder, JwtSvidValidator validator)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(validator);
        return AddFilter(builder, validator, null);
    }

    /// <summary>
    /// Allows the endpoint only to requests with a bearer JWT-SVID that <paramref name="validator"/>
    /// accepts and whose SPIFFE ID <paramref name="authorizer"/> allows: 401 as above, 403 when the
    /// token is valid but its ID is not allowed.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static TBuilder RequireJwtSvid<TBuilder>(this TBuilder builder, JwtSvidValidator validator, SpiffeIdAuthorizer authorizer)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(authorizer);
        return AddFilter(builder, validator, authorizer);
    }

    private static TBuilder AddFilter<TBuilder>(TBuilder builder, JwtSvidValidator validator, SpiffeIdAuthorizer? authorizer)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter((context, next) =>
        {
            HttpContext http = context.HttpContext;
            if (!TryReadBearerToken(http.Request, out string? token, out string? problem))
            {
                return ValueTask.FromResult<object?>(Challenge(http, problem is null ? null : "invalid_request", problem ?? "A bearer JWT-SVID is required."));
            }

            if (!validator.TryValidate(token!, out JwtSvid? svid, out string? error))
            {
                return ValueTask.FromResult<object?>(Challenge(http, "invalid_token", error));
            }

            if (authorizer is not null && !authorizer.IsAuthorized(svid.Id))
            {
                return ValueTask.FromResult<object?>(TypedResults.StatusCode(StatusCodes.Status403Forbidden));
            }

            http.Features.Set(new JwtSvidFeature(svid));
            return next(context);
        });

    /// <summary>
    /// Reads the bearer token. False with a null <paramref name="problem"/> when there is no
    /// Authorization header at all; false with a reason when it is present but not a single
    /// well-formed bearer credential.
    /// </summary>
    private static bool TryReadBearerToken(HttpRequest request, out string? token, out string? problem)
    {
        token = null;
        problem = null;
        Microsoft.Extensions.Primitives.StringValues values = request.Headers.Authorization;
        if (values.Count == 0)
        {
            return false;
        }

        if (values.Count > 1)
        {
            problem = "More than one Authorization header.";
            return false;
        }

        string value = values[0] ?? string.Empty;
        int space = value.IndexOf(' ', StringComparison.Ordinal);
        string scheme = space < 0 ? value : value[..space];
        if (!scheme.Equals(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            problem = "The Authorization scheme must be Bearer.";
            return false;
        }

        string credential = space < 0 ? string.Empty : value[(space + 1)..].Trim(' ');
        if (credential.Length == 0 || credential.Contains(' ', StringComparison.Ordinal))
        {
            problem = "The Bearer credential is missing or malformed.";
            return false;
        }

        token = credential;
        return true;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ContentHttpResult Challenge(HttpContext http, string? error, string description)
    {
        string challenge = error is null
            ? Scheme
            : $"{Scheme} error=\"{error}\", error_description=\"{QuotedSafe(description)}\"";
        http.Response.Headers[HeaderNames.WWWAuthenticate] = challenge;
        return TypedResults.Text(description, "text/plain; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
    }

    // RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
    private static string QuotedSafe(string text) =>
        string.Create(text.Length, text, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                span[i] = c is >= ' ' and <= '~' and not '"' and not '\\' ? c : '\'';
            }
        });
}

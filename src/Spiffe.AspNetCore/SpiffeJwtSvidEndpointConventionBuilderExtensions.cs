using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Bundles;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore;

/// <summary>
/// Per-endpoint shorthands over the JWT-SVID bearer scheme: each endpoint gets a JWT scheme of its
/// own that validates <c>Authorization: Bearer &lt;token&gt;</c> with the given validator, and
/// <c>RequireAuthorization</c> with a policy on that scheme. The validated <see cref="JwtSvid"/> is
/// then available through <see cref="SpiffeHttpContextExtensions.GetJwtSvid"/>.
/// </summary>
/// <remarks>
/// <para>
/// Needs <c>builder.Services.AddAuthentication()</c> and <c>AddAuthorization()</c>. Answers 401 with a
/// <c>WWW-Authenticate: Bearer</c> challenge when the header is missing or uses another scheme
/// (<c>Bearer</c> alone), is malformed (<c>error="invalid_request"</c>) or the token is invalid
/// (<c>error="invalid_token"</c>); the description is generic and the reason (audience, trust
/// domain, key ID, expiry) goes to the log only. With a <see cref="SpiffeIdAuthorizer"/>, a valid
/// token whose SPIFFE ID is not allowed gets 403. For app-wide settings prefer
/// <c>AddAuthentication().AddSpiffeJwt(...)</c> and a policy.
/// </para>
/// <code>
/// app.MapGet("/orders", (HttpContext c) => c.GetJwtSvid().Id.ToString())
///    .RequireJwtSvid(jwtSource, "spiffe://example.org/orders");
/// </code>
/// </remarks>
public static class SpiffeJwtSvidEndpointConventionBuilderExtensions
{
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
        where TBuilder : IEndpointConventionBuilder =>
        RequireJwtSvid(builder, validator, SpiffeIdAuthorizer.Any());

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
        string scheme = SpiffeEndpointSchemes.NextJwtSchemeName();
        string name = $"RequireJwtSvid({authorizer})";
        builder.Add(endpoint =>
        {
            SpiffeEndpointSchemes.AddJwtScheme(endpoint.ApplicationServices, scheme, validator);
            endpoint.Metadata.Add(new SpiffePolicyNameMetadata(name));
        });
        return builder.RequireAuthorization(new AuthorizationPolicyBuilder(scheme).RequireSpiffeId(authorizer).Build());
    }
}

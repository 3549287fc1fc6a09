using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Spiffe.AspNetCore;

/// <summary>
/// Minimal per-endpoint checks on the caller's SPIFFE ID (from the connection's client X509-SVID).
/// Full ASP.NET Core authentication and authorization handlers come later; these filters only
/// answer 401 when the connection carries no SVID and 403 when its ID is not allowed.
/// </summary>
/// <remarks>
/// <code>
/// app.MapGet("/orders", () => ...).RequireSpiffeId(SpiffeId.Parse("spiffe://example.org/frontend"));
/// app.MapGet("/partner", () => ...).RequireTrustDomain(TrustDomain.Parse("partner.org"));
/// </code>
/// </remarks>
public static class SpiffeEndpointConventionBuilderExtensions
{
    /// <summary>Allows the endpoint only to callers whose SPIFFE ID <paramref name="authorizer"/> allows.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static TBuilder RequireSpiffeId<TBuilder>(this TBuilder builder, SpiffeIdAuthorizer authorizer)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authorizer);
        return builder.AddEndpointFilter((context, next) =>
        {
            if (!context.HttpContext.TryGetSpiffeId(out SpiffeId? id))
            {
                return ValueTask.FromResult<object?>(TypedResults.StatusCode(StatusCodes.Status401Unauthorized));
            }

            return authorizer.IsAuthorized(id)
                ? next(context)
                : ValueTask.FromResult<object?>(TypedResults.StatusCode(StatusCodes.Status403Forbidden));
        });
    }

    /// <summary>Allows the endpoint only to the listed SPIFFE IDs (exact match); none listed allows nobody.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static TBuilder RequireSpiffeId<TBuilder>(this TBuilder builder, params IEnumerable<SpiffeId> ids)
        where TBuilder : IEndpointConventionBuilder =>
        RequireSpiffeId(builder, SpiffeIdAuthorizer.OneOf(ids));

    /// <summary>Allows the endpoint only to callers of <paramref name="trustDomain"/> (whole-name comparison).</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static TBuilder RequireTrustDomain<TBuilder>(this TBuilder builder, TrustDomain trustDomain)
        where TBuilder : IEndpointConventionBuilder =>
        RequireSpiffeId(builder, SpiffeIdAuthorizer.MemberOf(trustDomain));
}

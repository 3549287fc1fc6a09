using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;

namespace Spiffe.AspNetCore;

/// <summary>
/// Per-endpoint shorthands over the mTLS scheme (<see cref="SpiffeAuthenticationDefaults.X509Scheme"/>)
/// and <see cref="SpiffeIdRequirement"/>: each is <c>RequireAuthorization</c> with a policy that
/// authenticates the verified mTLS peer and checks its SPIFFE ID. 401 when the connection carries
/// no verified SVID, 403 when its ID is not allowed.
/// </summary>
/// <remarks>
/// Needs <c>builder.Services.AddAuthentication()</c> and <c>AddAuthorization()</c> (or
/// <c>AddSpiffeAuthorization()</c>); the mTLS scheme is added under its default name if the app did
/// not register it with <c>AddSpiffeX509()</c>.
/// <code>
/// app.MapGet("/orders", () => ...).RequireSpiffeId(SpiffeId.Parse("spiffe://example.org/frontend"));
/// app.MapGet("/partner", () => ...).RequireTrustDomain(TrustDomain.Parse("partner.org"));
/// </code>
/// </remarks>
public static class SpiffeEndpointConventionBuilderExtensions
{
    /// <summary>Allows the endpoint only to mTLS callers whose SPIFFE ID <paramref name="authorizer"/> allows.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static TBuilder RequireSpiffeId<TBuilder>(this TBuilder builder, SpiffeIdAuthorizer authorizer)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authorizer);
        return Require(builder, new AuthorizationPolicyBuilder(SpiffeAuthenticationDefaults.X509Scheme).RequireSpiffeId(authorizer).Build(), $"RequireSpiffeId({authorizer})");
    }

    /// <summary>Allows the endpoint only to the listed SPIFFE IDs (exact match); none listed allows nobody.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static TBuilder RequireSpiffeId<TBuilder>(this TBuilder builder, params IEnumerable<SpiffeId> ids)
        where TBuilder : IEndpointConventionBuilder =>
        RequireSpiffeId(builder, SpiffeIdAuthorizer.OneOf(ids));

    /// <summary>Allows the endpoint only to mTLS callers of <paramref name="trustDomain"/> (whole-name comparison).</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static TBuilder RequireTrustDomain<TBuilder>(this TBuilder builder, TrustDomain trustDomain)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(trustDomain);
        return Require(builder, new AuthorizationPolicyBuilder(SpiffeAuthenticationDefaults.X509Scheme).RequireTrustDomain(trustDomain).Build(), $"RequireTrustDomain({trustDomain})");
    }

    private static TBuilder Require<TBuilder>(TBuilder builder, AuthorizationPolicy policy, string name)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            SpiffeEndpointSchemes.EnsureX509Scheme(endpoint.ApplicationServices, name);
            endpoint.Metadata.Add(new SpiffePolicyNameMetadata(name));
        });
        return builder.RequireAuthorization(policy);
    }
}

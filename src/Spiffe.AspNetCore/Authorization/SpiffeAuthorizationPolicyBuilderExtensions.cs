using Microsoft.AspNetCore.Authorization;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>SPIFFE requirements for <see cref="AuthorizationPolicyBuilder"/>.</summary>
/// <remarks>
/// Name the schemes the policy authenticates with (<see cref="AddSpiffeAuthenticationSchemes"/>), or
/// rely on the app's default scheme:
/// <code>
/// builder.Services.AddAuthorization(o =>
/// {
///     o.AddPolicy("orders", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(SpiffeId.Parse("spiffe://example.org/frontend")));
///     o.AddPolicy("partner", p => p.AddSpiffeAuthenticationSchemes().RequireTrustDomain(TrustDomain.Parse("partner.org")));
///     o.AddPolicy("namespaced", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeIdMatching("spiffe://example.org/ns/{ns}/sa/*"));
/// });
/// app.MapGet("/orders", ...).RequireAuthorization("orders");   // or [Authorize(Policy = "orders")] on a controller or gRPC service
/// </code>
/// </remarks>
public static class SpiffeAuthorizationPolicyBuilderExtensions
{
    /// <summary>
    /// Authenticates with the mTLS scheme and, when <paramref name="includeJwt"/>, the JWT-SVID scheme
    /// (default names, <see cref="SpiffeAuthenticationDefaults"/>); both must be registered.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static AuthorizationPolicyBuilder AddSpiffeAuthenticationSchemes(this AuthorizationPolicyBuilder builder, bool includeJwt = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddAuthenticationSchemes(SpiffeAuthenticationDefaults.X509Scheme);
        return includeJwt ? builder.AddAuthenticationSchemes(SpiffeAuthenticationDefaults.JwtScheme) : builder;
    }

    /// <summary>Requires a caller whose SPIFFE ID is one of <paramref name="ids"/> (exact match); none allows nobody.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static AuthorizationPolicyBuilder RequireSpiffeId(this AuthorizationPolicyBuilder builder, params IEnumerable<SpiffeId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return RequireSpiffeId(builder, SpiffeIdAuthorizer.OneOf(ids));
    }

    /// <summary>Requires a caller whose SPIFFE ID <paramref name="authorizer"/> allows.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static AuthorizationPolicyBuilder RequireSpiffeId(this AuthorizationPolicyBuilder builder, SpiffeIdAuthorizer authorizer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddRequirements(new SpiffeIdRequirement(authorizer));
    }

    /// <summary>Requires a caller of one of <paramref name="trustDomains"/> (whole-name comparison); none allows nobody.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static AuthorizationPolicyBuilder RequireTrustDomain(this AuthorizationPolicyBuilder builder, params IEnumerable<TrustDomain> trustDomains)
    {
        ArgumentNullException.ThrowIfNull(trustDomains);
        return RequireSpiffeId(builder, SpiffeIdAuthorizer.AnyOf(trustDomains.Select(SpiffeIdAuthorizer.MemberOf)));
    }

    /// <summary>
    /// Requires a caller whose SPIFFE ID matches one of <paramref name="templates"/> (syntax: <see cref="SpiffeIdTemplate"/>);
    /// the captured segments are then on the request as <see cref="ISpiffeIdMatchFeature"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">No template is given.</exception>
    /// <exception cref="FormatException">A template is malformed.</exception>
    public static AuthorizationPolicyBuilder RequireSpiffeIdMatching(this AuthorizationPolicyBuilder builder, params IEnumerable<string> templates)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(templates);
        return builder.AddRequirements(new SpiffeIdTemplateRequirement(templates.Select(SpiffeIdTemplate.Parse)));
    }

    /// <summary>
    /// Authenticates with both SPIFFE schemes and requires both credentials: a verified mTLS peer and
    /// a JWT-SVID whose subject is that peer, unless the peer is one of <paramref name="gateways"/>
    /// (proxies allowed to carry other workloads' tokens). Other SPIFFE requirements of the policy
    /// then check the JWT-SVID's subject.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static AuthorizationPolicyBuilder RequireJwtSvidBoundToPeer(this AuthorizationPolicyBuilder builder, SpiffeIdAuthorizer? gateways = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSpiffeAuthenticationSchemes(includeJwt: true).AddRequirements(new SpiffeJwtPeerBindingRequirement(gateways));
    }

    /// <summary>
    /// Requires the SPIFFE rule set (<c>Spiffe:Authorization:Rules</c>, <see cref="SpiffeAuthorizationRuleOptions"/>)
    /// to allow the caller's request: Istio AuthorizationPolicy semantics (a matching DENY rule denies,
    /// then a matching ALLOW rule allows, else deny; an empty set denies everything), evaluated with the
    /// rule set in force at each request (it reloads with the configuration). Needs
    /// <c>AddSpiffeAuthorization()</c>, which also registers the same check as the policy named
    /// <see cref="SpiffeAuthorizationServiceCollectionExtensions.RulesPolicyName"/>.
    /// </summary>
    /// <remarks>
    /// <code>
    /// o.AddPolicy("payments", p => p.AddSpiffeAuthenticationSchemes(includeJwt: true).RequireSpiffeRules());
    /// </code>
    /// Without <c>AddSpiffeAuthorization()</c> no handler decides the requirement, so it denies.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static AuthorizationPolicyBuilder RequireSpiffeRules(this AuthorizationPolicyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddRequirements(SpiffeRulesRequirement.Instance);
    }
}

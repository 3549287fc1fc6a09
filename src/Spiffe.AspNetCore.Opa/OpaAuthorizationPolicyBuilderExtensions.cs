using Microsoft.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Opa;

/// <summary>The OPA requirement for <see cref="AuthorizationPolicyBuilder"/>.</summary>
public static class OpaAuthorizationPolicyBuilderExtensions
{
    /// <summary>
    /// Requires OPA to allow the request (registered with <see cref="OpaServiceCollectionExtensions.AddOpaAuthorization"/>).
    /// The caller must be a SPIFFE identity (mTLS or JWT-SVID scheme); without one OPA is not asked and the policy challenges.
    /// The decision is on the request afterwards as <see cref="IOpaDecisionFeature"/>.
    /// </summary>
    /// <example><c>o.AddPolicy("payments", p => p.AddSpiffeAuthenticationSchemes().RequireOpaDecision());</c></example>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static AuthorizationPolicyBuilder RequireOpaDecision(this AuthorizationPolicyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddRequirements(OpaDecisionRequirement.Instance);
    }
}

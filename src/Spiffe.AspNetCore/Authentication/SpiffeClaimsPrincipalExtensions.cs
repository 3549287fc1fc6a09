using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>The SPIFFE IDs on a <see cref="ClaimsPrincipal"/> built by the SPIFFE authentication schemes.</summary>
/// <remarks>
/// Only identities whose <see cref="ClaimsIdentity.AuthenticationType"/> is
/// <see cref="SpiffeAuthenticationDefaults.X509AuthenticationType"/> or
/// <see cref="SpiffeAuthenticationDefaults.JwtAuthenticationType"/> count. When a policy
/// authenticates with both schemes, the <em>caller</em> is the JWT-SVID's subject (the workload on
/// whose behalf the request is made) and the mTLS peer is the transport; bind them with
/// <c>RequireJwtSvidBoundToPeer</c>.
/// </remarks>
public static class SpiffeClaimsPrincipalExtensions
{
    /// <summary>
    /// Gets the caller's SPIFFE ID: the subject of the JWT-SVID identity if there is one, otherwise
    /// the mTLS peer's SPIFFE ID; false when the principal has neither.
    /// </summary>
    public static bool TryGetSpiffeId(this ClaimsPrincipal principal, [NotNullWhen(true)] out SpiffeId? id) =>
        TryGetIdentityId(principal, SpiffeAuthenticationDefaults.JwtAuthenticationType, out id)
        || TryGetIdentityId(principal, SpiffeAuthenticationDefaults.X509AuthenticationType, out id);

    /// <summary>Gets the SPIFFE ID of the mTLS peer identity (<see cref="SpiffeAuthenticationDefaults.X509AuthenticationType"/>); false when there is none.</summary>
    public static bool TryGetPeerSpiffeId(this ClaimsPrincipal principal, [NotNullWhen(true)] out SpiffeId? id) =>
        TryGetIdentityId(principal, SpiffeAuthenticationDefaults.X509AuthenticationType, out id);

    /// <summary>Gets the subject of the JWT-SVID identity (<see cref="SpiffeAuthenticationDefaults.JwtAuthenticationType"/>); false when there is none.</summary>
    public static bool TryGetJwtSvidSpiffeId(this ClaimsPrincipal principal, [NotNullWhen(true)] out SpiffeId? id) =>
        TryGetIdentityId(principal, SpiffeAuthenticationDefaults.JwtAuthenticationType, out id);

    private static bool TryGetIdentityId(ClaimsPrincipal principal, string authenticationType, [NotNullWhen(true)] out SpiffeId? id)
    {
        ArgumentNullException.ThrowIfNull(principal);
        foreach (ClaimsIdentity identity in principal.Identities)
        {
            if (!string.Equals(identity.AuthenticationType, authenticationType, StringComparison.Ordinal))
            {
                continue;
            }

            if (identity is SpiffeClaimsIdentity spiffe)
            {
                id = spiffe.SpiffeId;
                return true;
            }

            // An identity rebuilt elsewhere (serialized ticket, custom transformation): read the claim.
            if (SpiffeId.TryParse(identity.FindFirst(SpiffeClaimTypes.SpiffeId)?.Value, out id))
            {
                return true;
            }
        }

        id = null;
        return false;
    }
}

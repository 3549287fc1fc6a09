using Microsoft.AspNetCore.Authorization;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// Requires both a verified mTLS peer and a valid JWT-SVID on the request, and that the JWT-SVID's
/// subject is the mTLS peer itself, unless the peer is one of <see cref="Gateways"/>: peers (proxies,
/// gateways) allowed to carry other workloads' tokens. Handles itself.
/// </summary>
public sealed class SpiffeJwtPeerBindingRequirement : AuthorizationHandler<SpiffeJwtPeerBindingRequirement>, IAuthorizationRequirement
{
    /// <summary>Creates the requirement.</summary>
    /// <param name="gateways">mTLS peers that may present other subjects' JWT-SVIDs; null allows none.</param>
    public SpiffeJwtPeerBindingRequirement(SpiffeIdAuthorizer? gateways = null)
    {
        Gateways = gateways ?? SpiffeIdAuthorizer.Deny();
    }

    /// <summary>The mTLS peers that may carry other subjects' JWT-SVIDs.</summary>
    public SpiffeIdAuthorizer Gateways { get; }

    /// <summary>Describes the rule.</summary>
    public override string ToString() => $"JWT-SVID subject equals the mTLS peer (gateways: {Gateways})";

    /// <inheritdoc/>
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SpiffeJwtPeerBindingRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requirement);
        if (!context.User.TryGetPeerSpiffeId(out SpiffeId? peer))
        {
            context.Fail(new AuthorizationFailureReason(this, "no mTLS peer"));
        }
        else if (!context.User.TryGetJwtSvidSpiffeId(out SpiffeId? subject))
        {
            context.Fail(new AuthorizationFailureReason(this, $"no JWT-SVID from mTLS peer {peer}"));
        }
        else if (subject == peer || requirement.Gateways.IsAuthorized(peer))
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, $"mTLS peer {peer} carries a JWT-SVID of {subject} and is not an allowed gateway"));
        }

        return Task.CompletedTask;
    }
}

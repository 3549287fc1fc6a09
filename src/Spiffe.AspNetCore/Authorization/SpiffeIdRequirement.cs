using Microsoft.AspNetCore.Authorization;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// Requires a caller whose SPIFFE ID <see cref="Authorizer"/> allows. The caller is read from the
/// principal the SPIFFE schemes built (<see cref="SpiffeClaimsPrincipalExtensions.TryGetSpiffeId"/>):
/// the JWT-SVID's subject if present, otherwise the mTLS peer. Handles itself (no registration needed).
/// </summary>
public sealed class SpiffeIdRequirement : AuthorizationHandler<SpiffeIdRequirement>, IAuthorizationRequirement
{
    /// <summary>Creates the requirement.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="authorizer"/> is null.</exception>
    public SpiffeIdRequirement(SpiffeIdAuthorizer authorizer)
    {
        ArgumentNullException.ThrowIfNull(authorizer);
        Authorizer = authorizer;
    }

    /// <summary>Which SPIFFE IDs are allowed.</summary>
    public SpiffeIdAuthorizer Authorizer { get; }

    /// <summary>Describes the rule, e.g. <c>SPIFFE ID: exactly spiffe://example.org/web</c>.</summary>
    public override string ToString() => $"SPIFFE ID: {Authorizer}";

    /// <inheritdoc/>
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SpiffeIdRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requirement);
        if (!context.User.TryGetSpiffeId(out SpiffeId? id))
        {
            context.Fail(new AuthorizationFailureReason(this, "no SPIFFE caller"));
        }
        else if (requirement.Authorizer.IsAuthorized(id))
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, $"{id} is not allowed ({requirement})"));
        }

        return Task.CompletedTask;
    }
}

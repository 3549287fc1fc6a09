using Microsoft.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>The deny-by-default fallback: fails every caller of an endpoint that states no authorization of its own.</summary>
internal sealed class SpiffeDenyRequirement : AuthorizationHandler<SpiffeDenyRequirement>, IAuthorizationRequirement
{
    public override string ToString() => "deny by default (the endpoint has no authorization policy)";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SpiffeDenyRequirement requirement)
    {
        context.Fail(new AuthorizationFailureReason(this, ToString()));
        return Task.CompletedTask;
    }
}

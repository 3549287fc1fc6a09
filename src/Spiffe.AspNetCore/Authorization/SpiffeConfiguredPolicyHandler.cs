using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>Decides <see cref="SpiffeConfiguredPolicyRequirement"/> with the current configuration rules; a policy removed from configuration denies.</summary>
internal sealed class SpiffeConfiguredPolicyHandler(SpiffeConfiguredPolicies policies) : AuthorizationHandler<SpiffeConfiguredPolicyRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SpiffeConfiguredPolicyRequirement requirement)
    {
        if (!context.User.TryGetSpiffeId(out SpiffeId? id))
        {
            context.Fail(new AuthorizationFailureReason(this, "no SPIFFE caller"));
        }
        else if (!policies.TryGetRule(requirement.Name, out SpiffePolicyCompiledRule? rule))
        {
            context.Fail(new AuthorizationFailureReason(this, $"{requirement} is no longer in the configuration"));
        }
        else if (rule.IsAllowed(id, out SpiffeIdTemplate? template, out IReadOnlyDictionary<string, string>? values))
        {
            if (template is not null)
            {
                (context.Resource as HttpContext)?.Features.Set<ISpiffeIdMatchFeature>(new SpiffeIdMatchFeature(template, values!));
            }

            Record(context, requirement, allowed: true, reason: null);
            context.Succeed(requirement);
        }
        else
        {
            string reason = $"{id} is not allowed by {requirement}";
            Record(context, requirement, allowed: false, reason);
            context.Fail(new AuthorizationFailureReason(this, reason));
        }

        return Task.CompletedTask;
    }

    private static void Record(AuthorizationHandlerContext context, SpiffeConfiguredPolicyRequirement requirement, bool allowed, string? reason) =>
        (context.Resource as HttpContext)?.Features.Get<ISpiffeAuthorizationDecisionFeature>()?.Add(
            new SpiffeAuthorizationDecision(SpiffeAuthorizationDecision.PolicySource, allowed) { PolicyName = requirement.Name, Reason = reason });
}

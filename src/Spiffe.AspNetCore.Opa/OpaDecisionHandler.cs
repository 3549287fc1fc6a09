using System.Buffers;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Spiffe.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Opa;

/// <summary>
/// Evaluates <see cref="OpaDecisionRequirement"/>: builds the input document from the SPIFFE caller and
/// the request, asks <see cref="OpaDecisionPoint"/>, records the decision on the request
/// (<see cref="IOpaDecisionFeature"/>) and succeeds only on an allow.
/// </summary>
internal sealed class OpaDecisionHandler(OpaDecisionPoint decisionPoint) : AuthorizationHandler<OpaDecisionRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, OpaDecisionRequirement requirement)
    {
        if (context.Resource is not HttpContext http)
        {
            context.Fail(new AuthorizationFailureReason(this, "OPA decisions apply to HTTP requests only"));
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        if (!OpaInputDocument.TryWrite(http, context.User, decisionPoint.Headers, buffer, out OpaDecisionKey key))
        {
            // No SPIFFE caller: nothing to ask OPA about (401 when unauthenticated).
            context.Fail(new AuthorizationFailureReason(this, "no SPIFFE caller to ask OPA about"));
            return;
        }

        (OpaDecision decision, bool cacheHit) = await decisionPoint.DecideAsync(key, buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
        http.Features.Set<IOpaDecisionFeature>(new OpaDecisionFeature(decision, cacheHit));
        // The audit trail (AddSpiffeAudit) reports OPA's decision_id, the cache hit and the reason.
        http.Features.Get<ISpiffeAuthorizationDecisionFeature>()?.Add(new SpiffeAuthorizationDecision(SpiffeAuthorizationDecision.OpaSource, decision.Allowed)
        {
            DecisionId = decision.DecisionId,
            CacheHit = cacheHit,
            Reason = decision.Reason,
        });
        switch (decision.Outcome)
        {
            case OpaDecisionOutcome.Allowed:
                context.Succeed(requirement);
                break;
            case OpaDecisionOutcome.Unavailable:
                context.Fail(new OpaUnavailableReason(this, "OPA unavailable: " + decision.Reason, decision.RetryAfter));
                break;
            default:
                context.Fail(new AuthorizationFailureReason(this, decision.Outcome == OpaDecisionOutcome.Undefined
                    ? "OPA: undefined decision"
                    : "OPA denied" + (decision.Reason is null ? string.Empty : ": " + decision.Reason)));
                break;
        }
    }
}

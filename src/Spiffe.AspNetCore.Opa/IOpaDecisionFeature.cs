namespace Spiffe.AspNetCore.Opa;

/// <summary>
/// The OPA decision for the current request, set on <c>HttpContext.Features</c> by the
/// <c>RequireOpaDecision()</c> requirement (for an audit event, a log scope, a response header in
/// tests). Absent when the requirement did not run (no policy with it, or no SPIFFE caller).
/// </summary>
public interface IOpaDecisionFeature
{
    /// <summary>True only for <see cref="OpaDecisionOutcome.Allowed"/>.</summary>
    bool Allowed { get; }

    /// <summary>The outcome.</summary>
    OpaDecisionOutcome Outcome { get; }

    /// <summary>
    /// OPA's <c>decision_id</c> (present when OPA's decision logging is on); for a cache hit, the ID of the
    /// decision that was cached. Null when OPA sent none or did not answer.
    /// </summary>
    string? DecisionId { get; }

    /// <summary>Whether the decision came from the decision cache (no query to OPA for this request).</summary>
    bool CacheHit { get; }

    /// <summary>
    /// Why: the policy's <c>reason</c> when <c>result</c> is an object that has one; otherwise a short
    /// description of the failure for <see cref="OpaDecisionOutcome.Unavailable"/>. Never sent to the caller.
    /// </summary>
    string? Reason { get; }
}

namespace Spiffe.AspNetCore.Opa;

/// <summary>One answer of the decision point, as cached and as exposed on the request.</summary>
internal sealed record OpaDecision(OpaDecisionOutcome Outcome, string? DecisionId, string? Reason, TimeSpan RetryAfter = default)
{
    public bool Allowed => Outcome == OpaDecisionOutcome.Allowed;

    public bool Cacheable => Outcome != OpaDecisionOutcome.Unavailable;

    public static OpaDecision Unavailable(string reason, TimeSpan retryAfter) => new(OpaDecisionOutcome.Unavailable, null, reason, retryAfter);
}

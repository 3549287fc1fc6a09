namespace Spiffe.AspNetCore.Opa;

/// <summary>The per-request view of an <see cref="OpaDecision"/>.</summary>
internal sealed class OpaDecisionFeature(OpaDecision decision, bool cacheHit) : IOpaDecisionFeature
{
    public bool Allowed => decision.Allowed;

    public OpaDecisionOutcome Outcome => decision.Outcome;

    public string? DecisionId => decision.DecisionId;

    public bool CacheHit { get; } = cacheHit;

    public string? Reason => decision.Reason;
}

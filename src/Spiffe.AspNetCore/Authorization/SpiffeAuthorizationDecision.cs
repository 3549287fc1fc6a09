namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// One authorization decision made for a request by one decision source, recorded on
/// <see cref="ISpiffeAuthorizationDecisionFeature"/> for the audit trail. Immutable.
/// </summary>
public sealed class SpiffeAuthorizationDecision
{
    /// <summary>The source name of the SPIFFE rule set (<c>Spiffe:Authorization:Rules</c>, <c>RequireSpiffeRules()</c>).</summary>
    public const string RulesSource = "rules";

    /// <summary>The source name of the configuration policies (<c>Spiffe:Authorization:Policies:&lt;name&gt;</c>).</summary>
    public const string PolicySource = "policy";

    /// <summary>The source name reserved for an OPA policy decision point.</summary>
    public const string OpaSource = "opa";

    /// <summary>Creates a decision.</summary>
    /// <param name="source">Who decided: <see cref="RulesSource"/>, <see cref="PolicySource"/>, <see cref="OpaSource"/> or a name of your own.</param>
    /// <param name="allowed">Whether this source allowed the request.</param>
    /// <exception cref="ArgumentException"><paramref name="source"/> is null or empty.</exception>
    public SpiffeAuthorizationDecision(string source, bool allowed)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        Source = source;
        Allowed = allowed;
    }

    /// <summary>Who decided (<see cref="RulesSource"/>, <see cref="PolicySource"/>, <see cref="OpaSource"/>, …).</summary>
    public string Source { get; }

    /// <summary>Whether this source allowed the request.</summary>
    public bool Allowed { get; }

    /// <summary>The policy that decided, when the source has named policies.</summary>
    public string? PolicyName { get; init; }

    /// <summary>The index of the deciding rule in its rule list (the rule set: <c>Spiffe:Authorization:Rules:&lt;index&gt;</c>); null when no rule matched.</summary>
    public int? RuleIndex { get; init; }

    /// <summary>The decision point's own identifier of this decision (OPA's <c>decision_id</c>), for correlation with its decision log.</summary>
    public string? DecisionId { get; init; }

    /// <summary>Whether the decision came from a cache rather than a fresh evaluation; null when the source has no cache.</summary>
    public bool? CacheHit { get; init; }

    /// <summary>Why, in words (no secrets): e.g. which rule denied, or the decision point's reason.</summary>
    public string? Reason { get; init; }

    /// <summary>Describes the decision, e.g. <c>rules: allowed (rule 3)</c>.</summary>
    public override string ToString() =>
        $"{Source}: {(Allowed ? "allowed" : "denied")}{(PolicyName is null ? "" : $" by policy {PolicyName}")}{(RuleIndex is { } i ? $" (rule {i})" : "")}{(DecisionId is null ? "" : $" decision {DecisionId}")}{(CacheHit is true ? " (cached)" : "")}";
}

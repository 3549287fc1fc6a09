namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// The authorization decisions made for the current request, in order, by any decision source: the
/// SPIFFE rule set, the configuration policies, a policy decision point such as OPA, or your own
/// requirement handlers. Set on <c>HttpContext.Features</c> by the audit middleware
/// (<c>AddSpiffeAudit()</c>), which reports them in the request's audit event; absent otherwise.
/// </summary>
/// <remarks>
/// A decision source adds one entry per decision it makes, whether it allows or denies:
/// <code>
/// context.Features.Get&lt;ISpiffeAuthorizationDecisionFeature&gt;()?.Add(
///     new SpiffeAuthorizationDecision("opa", allowed: result.Allow) { DecisionId = result.DecisionId, CacheHit = cached, Reason = result.Reason });
/// </code>
/// The audit event names the deciding entry: the first denial when the request was denied, else the
/// last entry that allowed it. Entries must not carry tokens, keys or certificate bodies.
/// Thread-safety: a request's requirement handlers run one at a time; the feature is not meant to be
/// shared across requests.
/// </remarks>
public interface ISpiffeAuthorizationDecisionFeature
{
    /// <summary>The decisions recorded so far, in the order they were made.</summary>
    IReadOnlyList<SpiffeAuthorizationDecision> Decisions { get; }

    /// <summary>Records a decision.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="decision"/> is null.</exception>
    void Add(SpiffeAuthorizationDecision decision);
}

using Spiffe.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Audit;

/// <summary>
/// What the audit middleware learns about one request while it runs (a request feature): whether a
/// SPIFFE scheme handled it, the authorization middleware's decision, and the decisions sources
/// recorded. Internal so only this assembly writes it.
/// </summary>
/// <remarks>
/// Merge point for trusted proxies (x-forwarded-client-cert): the code that accepts a proxied
/// identity sets <see cref="ProxyId"/> on <c>context.Features.Get&lt;SpiffeAuditRecord&gt;()</c>.
/// </remarks>
internal sealed class SpiffeAuditRecord(DateTimeOffset started, long startTimestamp) : ISpiffeAuthorizationDecisionFeature
{
    private List<SpiffeAuthorizationDecision>? _decisions;

    public DateTimeOffset Started { get; } = started;

    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>A SPIFFE authentication scheme authenticated, challenged or forbade this request.</summary>
    public bool SchemeReached { get; set; }

    public SpiffeAuditDecision Decision { get; set; }

    public string? PolicyName { get; set; }

    public string? Reason { get; set; }

    /// <summary>The trusted proxy the caller's identity came through (set by the trusted-proxy authentication).</summary>
    public SpiffeId? ProxyId { get; set; }

    public IReadOnlyList<SpiffeAuthorizationDecision> Decisions => (IReadOnlyList<SpiffeAuthorizationDecision>?)_decisions ?? [];

    public void Add(SpiffeAuthorizationDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        (_decisions ??= []).Add(decision);
    }

    /// <summary>
    /// The first denial of a denied request (none when no decision source denied it: a requirement such as the
    /// JWT-SVID peer binding refused it, and <see cref="Reason"/> says why; an allowing source never takes the
    /// blame for a denial); else the last allowing decision.
    /// </summary>
    public SpiffeAuthorizationDecision? Deciding()
    {
        if (_decisions is null)
        {
            return null;
        }

        if (Decision is SpiffeAuditDecision.Challenged or SpiffeAuditDecision.Forbidden or SpiffeAuditDecision.Unavailable)
        {
            foreach (SpiffeAuthorizationDecision decision in _decisions)
            {
                if (!decision.Allowed)
                {
                    return decision;
                }
            }

            return null;
        }

        for (int i = _decisions.Count - 1; i >= 0; i--)
        {
            if (_decisions[i].Allowed)
            {
                return _decisions[i];
            }
        }

        return _decisions[^1];
    }
}

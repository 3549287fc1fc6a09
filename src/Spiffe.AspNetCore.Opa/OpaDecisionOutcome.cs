namespace Spiffe.AspNetCore.Opa;

/// <summary>What the policy decision point answered for one request (<see cref="IOpaDecisionFeature.Outcome"/>).</summary>
public enum OpaDecisionOutcome
{
    /// <summary>The policy allowed the request (<c>result</c> true, or <c>{"allow": true}</c>).</summary>
    Allowed,

    /// <summary>The policy denied the request (<c>result</c> false, or <c>{"allow": false}</c>): 403.</summary>
    Denied,

    /// <summary>The decision document is undefined (no <c>result</c> in OPA's answer): a denial, 403.</summary>
    Undefined,

    /// <summary>No usable answer (refused connection, timeout, non-2xx status, malformed body, circuit open): 503 with <c>Retry-After</c>.</summary>
    Unavailable,
}

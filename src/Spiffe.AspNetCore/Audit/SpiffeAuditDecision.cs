namespace Spiffe.AspNetCore.Audit;

/// <summary>The authorization middleware's decision on an audited request.</summary>
public enum SpiffeAuditDecision
{
    /// <summary>No authorization decision was made (an endpoint without policy, <c>[AllowAnonymous]</c>, no endpoint, or the request ended before authorization).</summary>
    None,

    /// <summary>The policy allowed the request.</summary>
    Allowed,

    /// <summary>No authenticated caller for the policy: challenged (401).</summary>
    Challenged,

    /// <summary>An authenticated caller the policy does not allow: forbidden (403).</summary>
    Forbidden,

    /// <summary>A policy decision point (such as OPA) gave no usable answer, so the request was refused unjudged (fail closed, 503).</summary>
    Unavailable,
}

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// The SPIFFE rule set, bound from <c>Spiffe:Authorization:Rules</c> by <c>AddSpiffeAuthorization()</c>
/// and reloaded when the configuration changes; enforced by <c>RequireSpiffeRules()</c> and the
/// <c>SpiffeRules</c> policy.
/// </summary>
/// <remarks>
/// <code>
/// "Spiffe": { "Authorization": { "Rules": [
///   { "Action": "DENY",  "Principals": [ "cluster.local/ns/legacy/*" ] },
///   { "Action": "ALLOW", "Principals": [ "spiffe://prod.example.com/ns/payments/sa/checkout-service" ],
///     "Methods": [ "POST" ], "Paths": [ "/v1/payments" ] } ] } }
/// </code>
/// Istio AuthorizationPolicy's evaluation: if any DENY rule matches, the request is denied; otherwise
/// if any ALLOW rule matches, it is allowed; otherwise it is denied. Unlike Istio, a set without ALLOW
/// rules (the empty set included) denies everything: no rule means deny. Rules are checked against
/// the caller the SPIFFE schemes authenticated (the JWT-SVID's subject, else the mTLS peer); a request
/// without one is not authenticated (401). A reload with any invalid rule is rejected whole: the last
/// good set stays and the reason is logged (event 4016); invalid rules at startup fail the startup.
/// </remarks>
public sealed class SpiffeAuthorizationRuleOptions
{
    /// <summary>The rules, in order (the index reported in decisions is the position in this list).</summary>
    public IList<SpiffeAuthorizationRule> Rules { get; set; } = [];
}

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// One rule of the SPIFFE rule set (<c>Spiffe:Authorization:Rules:&lt;index&gt;</c>), with Istio
/// AuthorizationPolicy semantics: the rule matches a request when the caller matches one of
/// <see cref="Principals"/>, the method one of <see cref="Methods"/> and the path one of
/// <see cref="Paths"/> (an empty list matches anything). See <see cref="SpiffeAuthorizationRuleOptions"/>.
/// </summary>
public sealed class SpiffeAuthorizationRule
{
    /// <summary><c>ALLOW</c> or <c>DENY</c> (case-insensitive); required.</summary>
    public string? Action { get; set; }

    /// <summary>
    /// Who the rule is about: a SPIFFE ID (<c>spiffe://example.org/web</c>), a SPIFFE ID pattern
    /// (<see cref="SpiffeIdTemplate"/> syntax, <c>spiffe://example.org/ns/{ns}/sa/*</c>), a trust domain
    /// name (<c>partner.org</c>), an Istio principal (<c>cluster.local/ns/payments/sa/checkout</c>, i.e.
    /// the SPIFFE ID without <c>spiffe://</c>, with Istio's string prefix <c>abc*</c> and suffix <c>*abc</c>
    /// forms), or <c>*</c> (any authenticated SPIFFE caller). Empty: any caller.
    /// </summary>
    public IList<string> Principals { get; set; } = [];

    /// <summary>HTTP methods, exact and case-sensitive (<c>GET</c>, <c>POST</c>…), or <c>*</c>. Empty: any method.</summary>
    public IList<string> Methods { get; set; } = [];

    /// <summary>Request paths: exact (<c>/v1/payments</c>), prefix (<c>/v1/*</c>), suffix (<c>*/status</c>) or <c>*</c> (any). Empty: any path.</summary>
    public IList<string> Paths { get; set; } = [];

    /// <summary>Keys of the configuration entry that are not rule fields (a misspelt key must not widen a rule silently).</summary>
    internal List<string> UnknownKeys { get; } = [];
}

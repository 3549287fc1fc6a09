namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// Named SPIFFE policies from configuration, bound from the <c>Spiffe:Authorization</c> section by
/// <c>AddSpiffeAuthorization()</c> and reloaded when the configuration changes.
/// </summary>
/// <remarks>
/// <code>
/// "Spiffe": { "Authorization": { "Policies": {
///   "orders": { "AllowedIds": [ "spiffe://example.org/frontend" ], "Patterns": [ "spiffe://example.org/ns/{ns}/sa/web" ] },
///   "partners": { "AllowedTrustDomains": [ "partner.org" ] } } } }
/// </code>
/// Each name becomes an authorization policy usable as <c>[Authorize(Policy = "orders")]</c> or
/// <c>RequireAuthorization("orders")</c>. A reload that breaks any rule is rejected whole: the last
/// good rules stay in force and the reason is logged.
/// </remarks>
public sealed class SpiffeAuthorizationPolicyOptions
{
    /// <summary>The policies by name.</summary>
    public IDictionary<string, SpiffePolicyRule> Policies { get; set; } = new Dictionary<string, SpiffePolicyRule>(StringComparer.Ordinal);
}

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// One named policy from configuration (<c>Spiffe:Authorization:Policies:&lt;name&gt;</c>): the caller
/// is allowed when its SPIFFE ID is in <see cref="AllowedIds"/>, or is a member of one of
/// <see cref="AllowedTrustDomains"/>, or matches one of <see cref="Patterns"/>. A rule with all three
/// empty is rejected as a configuration error (a misspelt key would otherwise deny silently).
/// </summary>
public sealed class SpiffePolicyRule
{
    /// <summary>SPIFFE IDs allowed exactly, e.g. <c>spiffe://example.org/frontend</c>.</summary>
    public IList<string> AllowedIds { get; set; } = [];

    /// <summary>Trust domains whose every member is allowed, e.g. <c>partner.org</c>.</summary>
    public IList<string> AllowedTrustDomains { get; set; } = [];

    /// <summary>SPIFFE ID patterns (<see cref="SpiffeIdTemplate"/> syntax), e.g. <c>spiffe://example.org/ns/{ns}/sa/*</c>.</summary>
    public IList<string> Patterns { get; set; } = [];
}

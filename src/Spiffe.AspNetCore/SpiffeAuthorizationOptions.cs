namespace Spiffe.AspNetCore;

/// <summary>
/// The peers that mutual-TLS endpoints configured with <c>listen.UseSpiffeMtls()</c> admit
/// (<c>Spiffe:Authorization</c>): a peer is admitted when its ID is one of <see cref="AllowedIds"/> or
/// belongs to one of <see cref="AllowedTrustDomains"/>. Deny by default: with neither set,
/// <c>UseSpiffeMtls()</c> refuses to configure the endpoint instead of admitting everyone.
/// </summary>
public sealed class SpiffeAuthorizationOptions
{
    /// <summary>SPIFFE IDs admitted, e.g. <c>spiffe://example.org/ns/prod/sa/frontend</c> (<c>Spiffe:Authorization:AllowedIds</c>).</summary>
    public IList<string> AllowedIds { get; } = [];

    /// <summary>Trust domains whose every member is admitted, e.g. <c>example.org</c> (<c>Spiffe:Authorization:AllowedTrustDomains</c>).</summary>
    public IList<string> AllowedTrustDomains { get; } = [];
}

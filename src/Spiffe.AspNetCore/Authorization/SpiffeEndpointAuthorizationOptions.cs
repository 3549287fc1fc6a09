namespace Spiffe.AspNetCore.Authorization;

/// <summary>Settings of <c>AddSpiffeAuthorization()</c>.</summary>
public sealed class SpiffeEndpointAuthorizationOptions
{
    /// <summary>
    /// When true, every endpoint without authorization metadata of its own (no <c>[Authorize]</c>,
    /// <c>RequireAuthorization</c> or <c>[AllowAnonymous]</c>) is denied: 401 to an unauthenticated
    /// caller, 403 to anyone else. Default false.
    /// </summary>
    public bool DenyByDefault { get; set; }

    /// <summary>
    /// The schemes that the configured policies and the deny-by-default fallback authenticate with;
    /// when empty, the SPIFFE schemes registered under their default names
    /// (<see cref="Authentication.SpiffeAuthenticationDefaults"/>).
    /// </summary>
    public IList<string> AuthenticationSchemes { get; set; } = [];
}

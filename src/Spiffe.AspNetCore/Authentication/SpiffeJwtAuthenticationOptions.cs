using Microsoft.AspNetCore.Authentication;
using Spiffe.Bundles;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>Options of the JWT-SVID bearer scheme (<c>AddSpiffeJwt()</c>), validated at startup. The clock is <see cref="AuthenticationSchemeOptions.TimeProvider"/> (the app's <see cref="System.TimeProvider"/>).</summary>
public sealed class SpiffeJwtAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The number of validated tokens kept by default.</summary>
    public const int DefaultCacheSize = 1024;

    /// <summary>Creates options with default events.</summary>
    public SpiffeJwtAuthenticationOptions()
    {
        Events = new SpiffeJwtAuthenticationEvents();
    }

    /// <summary>The audiences this service accepts (any of them); required. Usually the service's own SPIFFE ID.</summary>
    public IList<string> Audiences { get; set; } = [];

    /// <summary>
    /// Where the JWT bundles come from; when null, the <see cref="IJwtBundleSource"/> registered in
    /// DI (<c>AddSpiffe()</c> registers the Workload API <c>JwtSource</c>). Startup fails when neither is there.
    /// </summary>
    public IJwtBundleSource? BundleSource { get; set; }

    /// <summary>Clock-skew allowance for <c>exp</c> and <c>nbf</c>; <see cref="JwtSvidValidator.DefaultLeeway"/> when null, at most <see cref="JwtSvidValidator.MaxLeeway"/>.</summary>
    public TimeSpan? Leeway { get; set; }

    /// <summary>
    /// How many validated tokens are remembered so a caller re-sending one token skips the
    /// signature check (default <see cref="DefaultCacheSize"/>; 0 turns the cache off). An entry is
    /// used only until the token's <c>exp</c> and only while the JWT bundle that verified it is
    /// still the current bundle of the subject's trust domain.
    /// </summary>
    public int CacheSize { get; set; } = DefaultCacheSize;

    /// <summary>The extension point: observe failures, replace the principal, or change the challenge.</summary>
    public new SpiffeJwtAuthenticationEvents Events
    {
        get => (SpiffeJwtAuthenticationEvents)base.Events!;
        set => base.Events = value;
    }

    /// <summary>Set only by the endpoint shorthand <c>RequireJwtSvid(validator)</c>: a ready validator.</summary>
    internal JwtSvidValidator? Validator { get; set; }

    /// <summary>The validator and cache of this options instance, created on first use.</summary>
    internal JwtSvidAuthenticator? Authenticator;
}

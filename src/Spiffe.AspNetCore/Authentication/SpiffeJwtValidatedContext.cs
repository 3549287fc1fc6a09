using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>The context of <see cref="SpiffeJwtAuthenticationEvents.OnValidated"/>.</summary>
public sealed class SpiffeJwtValidatedContext : ResultContext<SpiffeJwtAuthenticationOptions>
{
    /// <summary>Creates the context.</summary>
    public SpiffeJwtValidatedContext(HttpContext context, AuthenticationScheme scheme, SpiffeJwtAuthenticationOptions options, JwtSvid jwtSvid)
        : base(context, scheme, options)
    {
        ArgumentNullException.ThrowIfNull(jwtSvid);
        JwtSvid = jwtSvid;
    }

    /// <summary>The validated JWT-SVID.</summary>
    public JwtSvid JwtSvid { get; }
}

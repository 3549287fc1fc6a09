using Spiffe.Jwt;

namespace Spiffe.AspNetCore;

/// <summary>The JWT-SVID a SPIFFE JWT authentication scheme validated for the current request (set only by that scheme).</summary>
internal sealed class JwtSvidFeature(JwtSvid svid)
{
    public JwtSvid Svid { get; } = svid;
}

using Spiffe.Jwt;

namespace Spiffe.AspNetCore;

/// <summary>The JWT-SVID a <c>RequireJwtSvid</c> filter validated for the current request.</summary>
internal sealed class JwtSvidFeature(JwtSvid svid)
{
    public JwtSvid Svid { get; } = svid;
}

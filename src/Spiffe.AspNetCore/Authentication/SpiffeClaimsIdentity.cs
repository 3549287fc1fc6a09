using System.Security.Claims;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>
/// A claims identity that also carries the parsed SPIFFE ID (and the JWT-SVID), so authorization
/// handlers read the caller without parsing a claim. Survives <see cref="Clone"/>.
/// </summary>
internal sealed class SpiffeClaimsIdentity : ClaimsIdentity
{
    public SpiffeClaimsIdentity(SpiffeId spiffeId, JwtSvid? jwtSvid, string authenticationType)
        : base(authenticationType, ClaimTypes.Name, ClaimTypes.Role)
    {
        SpiffeId = spiffeId;
        JwtSvid = jwtSvid;
    }

    private SpiffeClaimsIdentity(SpiffeClaimsIdentity other)
        : base(other)
    {
        SpiffeId = other.SpiffeId;
        JwtSvid = other.JwtSvid;
    }

    public SpiffeId SpiffeId { get; }

    public JwtSvid? JwtSvid { get; }

    public override ClaimsIdentity Clone() => new SpiffeClaimsIdentity(this);

    /// <summary>Adds the claims every SPIFFE identity has.</summary>
    public void AddSpiffeIdClaims(string issuer)
    {
        string id = SpiffeId.ToString();
        AddClaim(new Claim(ClaimTypes.NameIdentifier, id, ClaimValueTypes.String, issuer, issuer, this));
        AddClaim(new Claim(ClaimTypes.Name, id, ClaimValueTypes.String, issuer, issuer, this));
        AddClaim(new Claim(SpiffeClaimTypes.SpiffeId, id, ClaimValueTypes.String, issuer, issuer, this));
        AddClaim(new Claim(SpiffeClaimTypes.TrustDomain, SpiffeId.TrustDomain.Name, ClaimValueTypes.String, issuer, issuer, this));
        AddClaim(new Claim(SpiffeClaimTypes.Path, SpiffeId.Path, ClaimValueTypes.String, issuer, issuer, this));
    }
}

namespace Spiffe.AspNetCore.Authentication;

/// <summary>
/// Claim types the SPIFFE schemes add to their identities. Both schemes also set
/// <see cref="System.Security.Claims.ClaimTypes.NameIdentifier"/> and <see cref="System.Security.Claims.ClaimTypes.Name"/>
/// to the SPIFFE ID; the JWT scheme further maps every claim of the token as-is (<c>sub</c>,
/// <c>aud</c> once per audience, <c>exp</c>, <c>iat</c>, custom claims...).
/// </summary>
public static class SpiffeClaimTypes
{
    /// <summary>The caller's SPIFFE ID, e.g. <c>spiffe://example.org/ns/prod/sa/web</c>.</summary>
    public const string SpiffeId = "spiffe_id";

    /// <summary>The trust domain of the SPIFFE ID, e.g. <c>example.org</c>.</summary>
    public const string TrustDomain = "spiffe_trust_domain";

    /// <summary>The path of the SPIFFE ID, e.g. <c>/ns/prod/sa/web</c> (empty for a trust domain ID).</summary>
    public const string Path = "spiffe_path";

    /// <summary>The X509-SVID leaf's serial number, hexadecimal (mTLS identities only).</summary>
    public const string X509SerialNumber = "spiffe_x509_serial";

    /// <summary>The X509-SVID leaf's expiry, ISO 8601 UTC (mTLS identities only).</summary>
    public const string X509NotAfter = "spiffe_x509_not_after";

    /// <summary>
    /// The SPIFFE ID of the trusted proxy that forwarded the caller's identity in
    /// <c>x-forwarded-client-cert</c> (mTLS identities behind a proxy only; see <c>SpiffeX509AuthenticationOptions.TrustedProxies</c>).
    /// </summary>
    public const string ProxySpiffeId = "spiffe_proxy_id";
}

namespace Spiffe.AspNetCore.Authentication;

/// <summary>Default names of the SPIFFE authentication schemes and of the identities they produce.</summary>
public static class SpiffeAuthenticationDefaults
{
    /// <summary>The scheme name of <c>AddSpiffeX509()</c>: the caller's X509-SVID verified in this connection's mTLS handshake.</summary>
    public const string X509Scheme = "SpiffeX509";

    /// <summary>The scheme name of <c>AddSpiffeJwt()</c>: a bearer JWT-SVID validated against the JWT bundles.</summary>
    public const string JwtScheme = "SpiffeJwt";

    /// <summary>The <see cref="System.Security.Claims.ClaimsIdentity.AuthenticationType"/> of an identity from the mTLS peer.</summary>
    public const string X509AuthenticationType = "SPIFFE-X509";

    /// <summary>The <see cref="System.Security.Claims.ClaimsIdentity.AuthenticationType"/> of an identity from a JWT-SVID.</summary>
    public const string JwtAuthenticationType = "SPIFFE-JWT";
}

namespace Spiffe.AspNetCore.Audit;

/// <summary>How the caller of an audited request was authenticated by the SDK (flags: both may apply).</summary>
[Flags]
public enum SpiffeAuditAuthentication
{
    /// <summary>Not authenticated.</summary>
    None = 0,

    /// <summary>An X509-SVID verified in this connection's mutual TLS handshake (<c>UseSpiffeMtls</c>).</summary>
    Mtls = 1,

    /// <summary>A bearer JWT-SVID validated for this request (<c>AddSpiffeJwt</c>, <c>RequireJwtSvid</c>).</summary>
    JwtSvid = 2,
}

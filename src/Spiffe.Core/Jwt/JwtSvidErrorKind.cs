namespace Spiffe.Jwt;

/// <summary>Why a JWT-SVID was rejected.</summary>
public enum JwtSvidErrorKind
{
    /// <summary>No error: the JWT-SVID is valid.</summary>
    None = 0,

    /// <summary>The token is not a well-formed JWS compact serialization with a valid header and claims (JWT-SVID §2, §3), including a <c>sub</c> that is not a SPIFFE ID.</summary>
    Malformed,

    /// <summary>The <c>alg</c> header is not one JWT-SVIDs allow (RS/ES/PS 256/384/512; JWT-SVID §2.1).</summary>
    UnsupportedAlgorithm,

    /// <summary>There is no JWT bundle for the subject's trust domain, so nothing of that trust domain is trusted.</summary>
    NoBundle,

    /// <summary>The subject's JWT bundle has no key with the token's <c>kid</c>, or none that fits its algorithm.</summary>
    UnknownKey,

    /// <summary>The signature does not verify with the key (or, without <c>kid</c>, with any fitting key) of the subject's trust domain.</summary>
    InvalidSignature,

    /// <summary>The <c>aud</c> claim names none of the expected audiences (JWT-SVID §3.2).</summary>
    AudienceMismatch,

    /// <summary>The token expired (<c>exp</c>, with the leeway).</summary>
    Expired,

    /// <summary>The token is not valid yet (<c>nbf</c>, with the leeway).</summary>
    NotYetValid,
}

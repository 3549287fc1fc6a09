using System.Security.Cryptography;

namespace Spiffe.Internal;

/// <summary>The kind of public key a JWT authority holds; decides which <c>alg</c> values it can verify.</summary>
internal enum JwtKeyKind : byte
{
    Rsa,
    EcP256,
    EcP384,
    EcP521,
}

/// <summary>The JWS signature algorithms JWT-SVID.md §2.1 allows, and nothing else.</summary>
internal enum JwtAlgorithm : byte
{
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    ES512,
    PS256,
    PS384,
    PS512,
}

/// <summary>Mapping between <c>alg</c> names, hash functions and key kinds (RFC 7518 §3).</summary>
internal static class JwtAlgorithms
{
    /// <summary>Parses an <c>alg</c> value exactly (case-sensitive); anything outside the nine JWT-SVID algorithms fails.</summary>
    internal static bool TryParse(string name, out JwtAlgorithm algorithm)
    {
        JwtAlgorithm? parsed = name switch
        {
            "RS256" => JwtAlgorithm.RS256,
            "RS384" => JwtAlgorithm.RS384,
            "RS512" => JwtAlgorithm.RS512,
            "ES256" => JwtAlgorithm.ES256,
            "ES384" => JwtAlgorithm.ES384,
            "ES512" => JwtAlgorithm.ES512,
            "PS256" => JwtAlgorithm.PS256,
            "PS384" => JwtAlgorithm.PS384,
            "PS512" => JwtAlgorithm.PS512,
            _ => null,
        };
        algorithm = parsed.GetValueOrDefault();
        return parsed.HasValue;
    }

    internal static string Name(JwtAlgorithm algorithm) => algorithm switch
    {
        JwtAlgorithm.RS256 => "RS256",
        JwtAlgorithm.RS384 => "RS384",
        JwtAlgorithm.RS512 => "RS512",
        JwtAlgorithm.ES256 => "ES256",
        JwtAlgorithm.ES384 => "ES384",
        JwtAlgorithm.ES512 => "ES512",
        JwtAlgorithm.PS256 => "PS256",
        JwtAlgorithm.PS384 => "PS384",
        _ => "PS512",
    };

    internal static HashAlgorithmName Hash(JwtAlgorithm algorithm) => ((int)algorithm % 3) switch
    {
        0 => HashAlgorithmName.SHA256,
        1 => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    /// <summary>The only key kind that may verify <paramref name="algorithm"/>: RS*/PS* need RSA; ES256/384/512 need P-256/384/521.</summary>
    internal static bool Fits(JwtAlgorithm algorithm, JwtKeyKind kind) => algorithm switch
    {
        JwtAlgorithm.ES256 => kind == JwtKeyKind.EcP256,
        JwtAlgorithm.ES384 => kind == JwtKeyKind.EcP384,
        JwtAlgorithm.ES512 => kind == JwtKeyKind.EcP521,
        _ => kind == JwtKeyKind.Rsa,
    };

    internal static bool IsEcdsa(JwtAlgorithm algorithm) => algorithm is JwtAlgorithm.ES256 or JwtAlgorithm.ES384 or JwtAlgorithm.ES512;

    internal static bool IsPss(JwtAlgorithm algorithm) => algorithm is JwtAlgorithm.PS256 or JwtAlgorithm.PS384 or JwtAlgorithm.PS512;

    /// <summary>Size in bytes of one coordinate (and of R or S) for an EC key kind.</summary>
    internal static int FieldSize(JwtKeyKind kind) => kind switch
    {
        JwtKeyKind.EcP256 => 32,
        JwtKeyKind.EcP384 => 48,
        JwtKeyKind.EcP521 => 66,
        _ => 0,
    };

    internal static string CurveName(JwtKeyKind kind) => kind switch
    {
        JwtKeyKind.EcP256 => "P-256",
        JwtKeyKind.EcP384 => "P-384",
        JwtKeyKind.EcP521 => "P-521",
        _ => "",
    };

    internal static string Describe(JwtKeyKind kind) => kind == JwtKeyKind.Rsa ? "RSA" : "EC " + CurveName(kind);
}

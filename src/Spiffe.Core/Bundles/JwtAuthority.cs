using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Spiffe.Internal;

namespace Spiffe.Bundles;

/// <summary>
/// One JWT authority: a public key (RSA of at least 2048 bits, or ECDSA on P-256, P-384 or P-521)
/// that may sign JWT-SVIDs of a trust domain, with its optional key ID (<c>kid</c>). Immutable; the
/// key is imported once and reused for every validation.
/// </summary>
/// <remarks>
/// The key is never exposed as a shared mutable object: <see cref="CreatePublicKey"/> hands out a
/// fresh copy that the caller owns and may dispose.
/// <code>
/// using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
/// var authority = new JwtAuthority("key-1", ec); // keeps only the public part
/// </code>
/// </remarks>
public sealed class JwtAuthority
{
    /// <summary>RFC 7518 §3.3: RSA keys used with RS*/PS* must have at least 2048 bits.</summary>
    private const int MinRsaKeySize = 2048;

    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;

    /// <summary>Creates an authority from the public part of <paramref name="publicKey"/> (private parts, if any, are not kept).</summary>
    /// <param name="keyId">The JWK <c>kid</c>; null for a key without one (such a key only verifies tokens without <c>kid</c>).</param>
    /// <param name="publicKey">An <see cref="RSA"/> key (2048 bits or more) or an <see cref="ECDsa"/> key on P-256, P-384 or P-521. It is copied; the caller keeps ownership.</param>
    /// <exception cref="ArgumentException">The key is of another type, curve or size, or <paramref name="keyId"/> is empty.</exception>
    public JwtAuthority(string? keyId, AsymmetricAlgorithm publicKey)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        if (keyId is not null && keyId.Length == 0)
        {
            throw new ArgumentException("A key ID must not be empty; pass null for a key without one.", nameof(keyId));
        }

        KeyId = keyId;
        switch (publicKey)
        {
            case RSA rsa:
                RSAParameters rsaParameters = rsa.ExportParameters(includePrivateParameters: false);
                _rsa = ImportRsa(rsaParameters) ?? throw new ArgumentException($"The RSA key has {rsa.KeySize} bits; JWT authorities need at least {MinRsaKeySize}.", nameof(publicKey));
                Kind = JwtKeyKind.Rsa;
                break;
            case ECDsa ecdsa:
                ECParameters ecParameters = ecdsa.ExportParameters(includePrivateParameters: false);
                Kind = KindOf(ecParameters.Curve) ?? throw new ArgumentException("The ECDSA key is not on P-256, P-384 or P-521, the only curves JWT-SVIDs use.", nameof(publicKey));
                _ecdsa = ECDsa.Create(ecParameters);
                break;
            default:
                throw new ArgumentException($"A JWT authority must be an RSA or ECDSA key, not {publicKey.GetType().Name}.", nameof(publicKey));
        }
    }

    private JwtAuthority(string? keyId, JwtKeyKind kind, RSA? rsa, ECDsa? ecdsa)
    {
        KeyId = keyId;
        Kind = kind;
        _rsa = rsa;
        _ecdsa = ecdsa;
    }

    /// <summary>The key ID (JWK <c>kid</c>), or null when the key has none.</summary>
    public string? KeyId { get; }

    /// <summary>The JWK key type: <c>RSA</c> or <c>EC</c>.</summary>
    public string KeyType => Kind == JwtKeyKind.Rsa ? "RSA" : "EC";

    /// <summary>The JWK curve name (<c>P-256</c>, <c>P-384</c>, <c>P-521</c>) of an EC key; null for RSA.</summary>
    public string? Curve => Kind == JwtKeyKind.Rsa ? null : JwtAlgorithms.CurveName(Kind);

    internal JwtKeyKind Kind { get; }

    /// <summary>A new copy of the public key (an <see cref="RSA"/> or <see cref="ECDsa"/>); the caller owns and disposes it.</summary>
    public AsymmetricAlgorithm CreatePublicKey() => _rsa is not null
        ? RSA.Create(_rsa.ExportParameters(false))
        : ECDsa.Create(_ecdsa!.ExportParameters(false));

    /// <summary>The public key as a DER-encoded X.509 SubjectPublicKeyInfo.</summary>
    public byte[] ExportSubjectPublicKeyInfo() => _rsa is not null ? _rsa.ExportSubjectPublicKeyInfo() : _ecdsa!.ExportSubjectPublicKeyInfo();

    /// <summary>The key ID and key type; never key material.</summary>
    public override string ToString() => $"JwtAuthority(kid={KeyId ?? "(none)"}, {JwtAlgorithms.Describe(Kind)})";

    /// <summary>Verifies a JWS signature. The caller has checked that <paramref name="algorithm"/> fits this key.</summary>
    internal bool Verify(JwtAlgorithm algorithm, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature)
    {
        HashAlgorithmName hash = JwtAlgorithms.Hash(algorithm);
        if (_ecdsa is not null)
        {
            // RFC 7518 §3.4: the signature is R‖S, each exactly the field size; a DER signature is refused.
            return signature.Length == 2 * JwtAlgorithms.FieldSize(Kind)
                && _ecdsa.VerifyData(signingInput, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }

        return signature.Length == (_rsa!.KeySize + 7) / 8
            && _rsa.VerifyData(signingInput, signature, hash, JwtAlgorithms.IsPss(algorithm) ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
    }

    /// <summary>
    /// Reads a <c>jwt-svid</c> JWK. Returns null for a key this SDK does not know (unknown
    /// <c>kty</c> or <c>crv</c>), which the caller ignores; throws for a known but malformed key.
    /// </summary>
    internal static JwtAuthority? FromJwk(JsonElement jwk, string where)
    {
        string? kty = Jwk.GetString(jwk, "kty", where);
        string? kid = Jwk.GetString(jwk, "kid", where);
        if (kid is not null && kid.Length == 0)
        {
            throw new FormatException($"{where} has an empty \"kid\".");
        }

        if (jwk.TryGetProperty("d"u8, out _))
        {
            throw new FormatException($"{where} holds private key material (\"d\"); a bundle must only carry public keys.");
        }

        switch (kty)
        {
            case "RSA":
                var rsaParameters = new RSAParameters
                {
                    Modulus = Jwk.GetBase64Url(jwk, "n", where),
                    Exponent = Jwk.GetBase64Url(jwk, "e", where),
                };
                RSA? rsa;
                try
                {
                    rsa = ImportRsa(rsaParameters);
                }
                catch (CryptographicException e)
                {
                    throw new FormatException($"{where} is not a valid RSA public key ({e.Message}).", e);
                }

                return rsa is null
                    ? throw new FormatException($"{where} is an RSA key shorter than {MinRsaKeySize} bits.")
                    : new JwtAuthority(kid, JwtKeyKind.Rsa, rsa, null);
            case "EC":
                JwtKeyKind? kind = Jwk.GetString(jwk, "crv", where) switch
                {
                    "P-256" => JwtKeyKind.EcP256,
                    "P-384" => JwtKeyKind.EcP384,
                    "P-521" => JwtKeyKind.EcP521,
                    null => throw new FormatException($"{where} is an EC key without \"crv\"."),
                    _ => null,
                };
                if (kind is null)
                {
                    return null; // a curve JWT-SVIDs cannot use (e.g. secp256k1): ignored like an unknown kty
                }

                int size = JwtAlgorithms.FieldSize(kind.Value);
                byte[] x = Jwk.GetBase64Url(jwk, "x", where);
                byte[] y = Jwk.GetBase64Url(jwk, "y", where);
                if (x.Length != size || y.Length != size)
                {
                    throw new FormatException($"{where} has EC coordinates of the wrong length for {JwtAlgorithms.CurveName(kind.Value)} (expected {size} bytes each).");
                }

                var ecParameters = new ECParameters { Curve = CurveOf(kind.Value), Q = new ECPoint { X = x, Y = y } };
                try
                {
                    return new JwtAuthority(kid, kind.Value, null, ECDsa.Create(ecParameters));
                }
                catch (CryptographicException e)
                {
                    throw new FormatException($"{where} is not a valid EC public key ({e.Message}).", e);
                }

            default:
                return null; // unknown or missing kty: TB §4.2.1 says ignore this key only
        }
    }

    /// <summary>Writes this authority as a <c>jwt-svid</c> JWK.</summary>
    internal void WriteJwk(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("kty"u8, KeyType);
        writer.WriteString("use"u8, "jwt-svid"u8);
        if (KeyId is not null)
        {
            writer.WriteString("kid"u8, KeyId);
        }

        if (_rsa is not null)
        {
            RSAParameters p = _rsa.ExportParameters(false);
            writer.WriteString("n"u8, Base64Url.EncodeToString(p.Modulus));
            writer.WriteString("e"u8, Base64Url.EncodeToString(p.Exponent));
        }
        else
        {
            ECParameters p = _ecdsa!.ExportParameters(false);
            writer.WriteString("crv"u8, Curve);
            writer.WriteString("x"u8, Base64Url.EncodeToString(p.Q.X));
            writer.WriteString("y"u8, Base64Url.EncodeToString(p.Q.Y));
        }

        writer.WriteEndObject();
    }

    private static RSA? ImportRsa(RSAParameters parameters)
    {
        RSA rsa = RSA.Create(parameters);
        if (rsa.KeySize < MinRsaKeySize)
        {
            rsa.Dispose();
            return null;
        }

        return rsa;
    }

    private static JwtKeyKind? KindOf(ECCurve curve)
    {
        if (!curve.IsNamed)
        {
            return null;
        }

        return curve.Oid.Value switch
        {
            "1.2.840.10045.3.1.7" => JwtKeyKind.EcP256,
            "1.3.132.0.34" => JwtKeyKind.EcP384,
            "1.3.132.0.35" => JwtKeyKind.EcP521,
            _ => curve.Oid.FriendlyName switch
            {
                "nistP256" or "ECDSA_P256" => JwtKeyKind.EcP256,
                "nistP384" or "ECDSA_P384" => JwtKeyKind.EcP384,
                "nistP521" or "ECDSA_P521" => JwtKeyKind.EcP521,
                _ => null,
            },
        };
    }

    private static ECCurve CurveOf(JwtKeyKind kind) => kind switch
    {
        JwtKeyKind.EcP256 => ECCurve.NamedCurves.nistP256,
        JwtKeyKind.EcP384 => ECCurve.NamedCurves.nistP384,
        _ => ECCurve.NamedCurves.nistP521,
    };
}

using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Spiffe.Bundles;

namespace Spiffe.Internal;

/// <summary>The usable content of a JWK Set read as a SPIFFE bundle (TB §4).</summary>
internal sealed class JwksContent
{
    internal List<X509Certificate2> X509Authorities { get; } = [];

    internal List<JwtAuthority> JwtAuthorities { get; } = [];

    internal long? Sequence { get; set; }

    internal TimeSpan? RefreshHint { get; set; }
}

/// <summary>
/// Reads a SPIFFE bundle / JWK Set document. Per TB §4: <c>keys</c> is required (may be empty);
/// unknown top-level members are ignored; a key with an unknown <c>use</c> (compared
/// case-sensitively) or an unknown <c>kty</c> is ignored on its own; a key without <c>use</c> is
/// ignored in a SPIFFE bundle and taken as a JWT authority in a Workload API JWT bundle (see
/// <see cref="Spiffe.Bundles.JwtBundle"/>); an <c>x509-svid</c> key
/// without <c>x5c</c> is ignored and only the first <c>x5c</c> element is used (XS §6.2). Known
/// but malformed keys, duplicate members and duplicate key IDs are errors.
/// </summary>
internal static class JwksReader
{
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";

    internal static JwksContent Read(TrustDomain trustDomain, ReadOnlySpan<byte> utf8, bool readX509, bool readSpiffeMembers, string what, bool missingUseIsJwtSvid = false)
    {
        string document = $"{what} of {trustDomain}";
        using JsonDocument json = Jwk.ParseObject(utf8, document);
        JsonElement root = json.RootElement;
        var content = new JwksContent();
        try
        {
            if (readSpiffeMembers)
            {
                content.Sequence = ReadInteger(root, "spiffe_sequence", document);
                long? hint = ReadInteger(root, "spiffe_refresh_hint", document);
                if (hint is < 0 or > (long)int.MaxValue)
                {
                    throw new FormatException($"The {document} has a \"spiffe_refresh_hint\" outside 0..{int.MaxValue} seconds.");
                }

                content.RefreshHint = hint is null ? null : TimeSpan.FromSeconds(hint.Value);
            }

            if (!root.TryGetProperty("keys"u8, out JsonElement keys))
            {
                throw new FormatException($"The {document} has no \"keys\" member (required, may be empty).");
            }

            if (keys.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"The {document} has a \"keys\" member that is not an array.");
            }

            var keyIds = new HashSet<string>(StringComparer.Ordinal);
            int index = 0;
            foreach (JsonElement key in keys.EnumerateArray())
            {
                string where = $"Key {index} of the {document}";
                index++;
                if (key.ValueKind != JsonValueKind.Object)
                {
                    throw new FormatException($"{where} is not a JSON object.");
                }

                string? use = Jwk.GetString(key, "use", where);
                if (use == "jwt-svid" || (use is null && missingUseIsJwtSvid))
                {
                    JwtAuthority? authority = JwtAuthority.FromJwk(key, where);
                    if (authority is null)
                    {
                        continue;
                    }

                    if (authority.KeyId is not null && !keyIds.Add(authority.KeyId))
                    {
                        throw new FormatException($"{where} repeats key ID \"{authority.KeyId}\"; key IDs must be unique within a bundle.");
                    }

                    content.JwtAuthorities.Add(authority);
                }
                else if (use == "x509-svid" && readX509)
                {
                    X509Certificate2? certificate = ReadX509Authority(key, where);
                    if (certificate is not null)
                    {
                        content.X509Authorities.Add(certificate);
                    }
                }
            }
        }
        catch
        {
            foreach (X509Certificate2 c in content.X509Authorities)
            {
                c.Dispose();
            }

            throw;
        }

        return content;
    }

    private static X509Certificate2? ReadX509Authority(JsonElement key, string where)
    {
        string? kty = Jwk.GetString(key, "kty", where);
        if (kty is not ("RSA" or "EC"))
        {
            return null; // unknown kty: ignored like any other unknown key (TB §4.2.1)
        }

        if (!key.TryGetProperty("x5c"u8, out JsonElement x5c))
        {
            return null; // XS §6.2: an x509-svid key without x5c is ignored
        }

        if (x5c.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{where} has an \"x5c\" that is not an array.");
        }

        if (x5c.GetArrayLength() == 0)
        {
            return null;
        }

        JsonElement first = x5c[0]; // XS §6.2: only the first certificate is the authority
        if (first.ValueKind != JsonValueKind.String)
        {
            throw new FormatException($"{where} has an \"x5c\" element that is not a string.");
        }

        byte[] der;
        try
        {
            // RFC 7517 §4.7: x5c holds standard base64 (not base64url) DER.
            der = Convert.FromBase64String(first.GetString()!);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{where} has an \"x5c\" certificate that is not base64.", e);
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            throw new FormatException($"{where} has an \"x5c\" element that is not an X.509 certificate ({e.Message}).", e);
        }

        // The certificate is decoded lazily: read its key now, exactly as ToJson will, so a bundle
        // that parses can always be written back (a corrupt key fails here, not later).
        if (!TryDescribe(certificate, out _, out string? problem))
        {
            certificate.Dispose();
            throw new FormatException($"{where} has an \"x5c\" certificate {problem}.");
        }

        return certificate;
    }

    /// <summary>The JWK members of a CA certificate's public key (RFC 7518 §6): what <see cref="WriteX509Authority"/> writes.</summary>
    private readonly record struct AuthorityKey(string KeyType, byte[]? Modulus, byte[]? Exponent, string? Curve, byte[]? X, byte[]? Y);

    private static bool TryDescribe(X509Certificate2 certificate, out AuthorityKey key, [NotNullWhen(false)] out string? problem)
    {
        key = default;
        try
        {
            // PublicKey.Get*PublicKey, unlike the certificate's own Get*PublicKey, does not decode
            // the Key Usage extension: a malformed one is the chain builder's business, not the JWK's.
            PublicKey publicKey = certificate.PublicKey;
            switch (publicKey.Oid.Value)
            {
                case RsaOid:
                    using (RSA? rsa = publicKey.GetRSAPublicKey())
                    {
                        RSAParameters p = (rsa ?? throw new CryptographicException("no RSA key")).ExportParameters(false);
                        key = new AuthorityKey("RSA", p.Modulus, p.Exponent, null, null, null);
                    }

                    break;
                case EcOid:
                    using (ECDsa? ec = publicKey.GetECDsaPublicKey())
                    {
                        ECParameters q = (ec ?? throw new CryptographicException("no EC key")).ExportParameters(false);
                        string? crv = q.Curve.IsNamed ? q.Curve.Oid.Value switch
                        {
                            "1.2.840.10045.3.1.7" => "P-256",
                            "1.3.132.0.34" => "P-384",
                            "1.3.132.0.35" => "P-521",
                            _ => null,
                        } : null;
                        key = crv is null
                            ? new AuthorityKey("EC", null, null, null, null, null)
                            : new AuthorityKey("EC", null, null, crv, q.Q.X, q.Q.Y);
                    }

                    break;
                default:
                    problem = $"holds a key ({publicKey.Oid.Value}) that a JWK cannot describe; only RSA and EC authorities are supported";
                    return false;
            }
        }
        catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException or NotSupportedException)
        {
            problem = "has a public key that cannot be read";
            return false;
        }

        problem = null;
        return true;
    }

    private static long? ReadInteger(JsonElement root, string name, string document)
    {
        if (!root.TryGetProperty(name, out JsonElement value))
        {
            return null;
        }

        // TB §4.1.1/§4.1.2: an integer. 1.5, 1e3, "7", null are all refused.
        if (value.ValueKind != JsonValueKind.Number || !IsIntegerLiteral(value.GetRawText()) || !value.TryGetInt64(out long result))
        {
            throw new FormatException($"The {document} has a \"{name}\" that is not an integer.");
        }

        return result;
    }

    private static bool IsIntegerLiteral(string raw)
    {
        foreach (char c in raw)
        {
            if (c is not ((>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes an x509-svid JWK for a CA certificate: one-element <c>x5c</c>, no <c>kid</c> (XS §6.1).</summary>
    /// <exception cref="InvalidOperationException">The certificate's key is not an RSA or EC key that can be read (never for a bundle that <c>Parse</c> produced).</exception>
    internal static void WriteX509Authority(Utf8JsonWriter writer, X509Certificate2 certificate)
    {
        if (!TryDescribe(certificate, out AuthorityKey key, out string? problem))
        {
            throw new InvalidOperationException($"The X.509 authority {certificate.Subject} {problem}.");
        }

        writer.WriteStartObject();
        writer.WriteString("kty"u8, key.KeyType);
        writer.WriteString("use"u8, "x509-svid"u8);
        if (key.Modulus is not null)
        {
            writer.WriteString("n"u8, System.Buffers.Text.Base64Url.EncodeToString(key.Modulus));
            writer.WriteString("e"u8, System.Buffers.Text.Base64Url.EncodeToString(key.Exponent));
        }
        else if (key.Curve is not null)
        {
            writer.WriteString("crv"u8, key.Curve);
            writer.WriteString("x"u8, System.Buffers.Text.Base64Url.EncodeToString(key.X));
            writer.WriteString("y"u8, System.Buffers.Text.Base64Url.EncodeToString(key.Y));
        }

        writer.WriteStartArray("x5c"u8);
        writer.WriteBase64StringValue(certificate.RawDataMemory.Span);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}

using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Spiffe.Bundles;

namespace Spiffe.Testing;

/// <summary>
/// A JWT authority for tests: signing keys of one trust domain that mint JWT-SVIDs (valid ones and
/// deliberately broken ones) and publish them as a JWT bundle or JWK Set.
/// </summary>
/// <remarks>
/// <para>
/// Keys are created for an algorithm: <c>ES256</c>/<c>ES384</c>/<c>ES512</c> give P-256/P-384/P-521
/// keys, <c>RS*</c>/<c>PS*</c> give RSA-2048 keys. Each key can be published with any <c>use</c>
/// (or none) and with or without its <c>kid</c>, to test bundle filtering.
/// </para>
/// <code>
/// using var authority = new TestJwtAuthority(TrustDomain.Parse("example.org"), timeProvider);
/// string kid = authority.AddKey("ES256");
/// string token = authority.MintJwtSvid(SpiffeId.Parse("spiffe://example.org/web"), ["svc"]);
/// JwtBundle bundle = authority.CreateJwtBundle();
/// </code>
/// </remarks>
public sealed class TestJwtAuthority : IDisposable
{
    private readonly List<SigningKey> _keys = [];

    /// <summary>Creates an authority with no keys.</summary>
    /// <param name="trustDomain">The trust domain whose bundle this authority publishes.</param>
    /// <param name="timeProvider">The clock for <c>iat</c>/<c>exp</c> of minted tokens; <see cref="TimeProvider.System"/> when null.</param>
    public TestJwtAuthority(TrustDomain trustDomain, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        TrustDomain = trustDomain;
        TimeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The trust domain.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The clock used for minted tokens.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The key IDs (handles) of the keys, in the order they were added.</summary>
    public IReadOnlyList<string> KeyIds => [.. _keys.Select(k => k.KeyId)];

    /// <summary>Adds a signing key suited to <paramref name="algorithm"/>.</summary>
    /// <param name="algorithm">One of the nine JWT-SVID algorithms (RS/ES/PS 256/384/512).</param>
    /// <param name="keyId">The key ID; <c>key-N</c> when null. Also the handle used by the other methods.</param>
    /// <param name="use">The JWK <c>use</c> published in the bundle; null publishes the key without <c>use</c>.</param>
    /// <param name="publishKeyId">Whether the published JWK carries <c>kid</c>; the token header still uses it unless you write your own header.</param>
    /// <returns>The key ID.</returns>
    /// <exception cref="ArgumentException">The algorithm is not one of the nine, or the key ID is taken.</exception>
    public string AddKey(string algorithm, string? keyId = null, string? use = "jwt-svid", bool publishKeyId = true)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        keyId ??= "key-" + (_keys.Count + 1).ToString(CultureInfo.InvariantCulture);
        if (_keys.Exists(k => k.KeyId == keyId))
        {
            throw new ArgumentException($"Key ID {keyId} is already used.", nameof(keyId));
        }

        AsymmetricAlgorithm key = algorithm switch
        {
            "ES256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
            "ES384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
            "ES512" => ECDsa.Create(ECCurve.NamedCurves.nistP521),
            "RS256" or "RS384" or "RS512" or "PS256" or "PS384" or "PS512" => RSA.Create(2048),
            _ => throw new ArgumentException($"{algorithm} is not a JWT-SVID algorithm.", nameof(algorithm)),
        };
        _keys.Add(new SigningKey(keyId, algorithm, key, use, publishKeyId));
        return keyId;
    }

    /// <summary>The default header of a key: <c>{"alg":…,"kid":…,"typ":"JWT"}</c>.</summary>
    public string DefaultHeader(string keyId)
    {
        SigningKey key = Find(keyId);
        return Json(w =>
        {
            w.WriteString("alg", key.Algorithm);
            w.WriteString("kid", key.KeyId);
            w.WriteString("typ", "JWT");
        });
    }

    /// <summary>The default claims: <c>sub</c>, <c>aud</c> (an array), <c>exp</c> = now + lifetime (5 minutes by default), <c>iat</c> = now.</summary>
    public string DefaultClaims(SpiffeId subject, IEnumerable<string> audience, TimeSpan? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(audience);
        long now = TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        long exp = now + (long)(lifetime ?? TimeSpan.FromMinutes(5)).TotalSeconds;
        return Json(w =>
        {
            w.WriteString("sub", subject.ToString());
            w.WriteStartArray("aud");
            foreach (string a in audience)
            {
                w.WriteStringValue(a);
            }

            w.WriteEndArray();
            w.WriteNumber("exp", exp);
            w.WriteNumber("iat", now);
        });
    }

    /// <summary>Mints a valid JWT-SVID with the default header and claims, signed by <paramref name="keyId"/> (the first key when null).</summary>
    public string MintJwtSvid(SpiffeId subject, IEnumerable<string> audience, TimeSpan? lifetime = null, string? keyId = null)
    {
        SigningKey key = keyId is null ? First() : Find(keyId);
        return Sign(key.KeyId, DefaultHeader(key.KeyId), DefaultClaims(subject, audience, lifetime));
    }

    /// <summary>
    /// Signs arbitrary header and payload JSON text (which may be malformed on purpose) with a key.
    /// </summary>
    /// <param name="keyId">The signing key.</param>
    /// <param name="headerJson">The header, exactly as it will be encoded.</param>
    /// <param name="payloadJson">The payload, exactly as it will be encoded.</param>
    /// <param name="algorithm">Which hash (256/384/512) and RSA padding (<c>PS*</c> = PSS) to sign with; the key's own algorithm when null. The key type is never changed.</param>
    /// <param name="derSignature">For ECDSA keys: emit a DER signature instead of the JWS R‖S form (to test that it is refused).</param>
    public string Sign(string keyId, string headerJson, string payloadJson, string? algorithm = null, bool derSignature = false)
    {
        ArgumentNullException.ThrowIfNull(headerJson);
        ArgumentNullException.ThrowIfNull(payloadJson);
        SigningKey key = Find(keyId);
        string alg = algorithm ?? key.Algorithm;
        string signingInput = Encode(headerJson) + "." + Encode(payloadJson);
        byte[] data = Encoding.ASCII.GetBytes(signingInput);
        HashAlgorithmName hash = alg.EndsWith("384", StringComparison.Ordinal) ? HashAlgorithmName.SHA384
            : alg.EndsWith("512", StringComparison.Ordinal) ? HashAlgorithmName.SHA512
            : HashAlgorithmName.SHA256;
        byte[] signature = key.Key switch
        {
            ECDsa ec => ec.SignData(data, hash, derSignature ? DSASignatureFormat.Rfc3279DerSequence : DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
            RSA rsa => rsa.SignData(data, hash, alg.StartsWith("PS", StringComparison.Ordinal) ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1),
            _ => throw new InvalidOperationException("Unknown key type."),
        };
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>Signs header and payload with HMAC (HS256/384/512) under <paramref name="secret"/>: a token no JWT-SVID validator may accept.</summary>
    public static string SignHmac(ReadOnlySpan<byte> secret, string algorithm, string headerJson, string payloadJson)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        string signingInput = Encode(headerJson) + "." + Encode(payloadJson);
        byte[] data = Encoding.ASCII.GetBytes(signingInput);
        byte[] mac = algorithm switch
        {
            "HS384" => HMACSHA384.HashData(secret, data),
            "HS512" => HMACSHA512.HashData(secret, data),
            _ => HMACSHA256.HashData(secret, data),
        };
        return signingInput + "." + Base64Url.EncodeToString(mac);
    }

    /// <summary>Base64url (no padding) of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The token with one bit of its decoded signature flipped.</summary>
    public static string FlipSignatureBit(string token, int bit = 0)
    {
        ArgumentNullException.ThrowIfNull(token);
        int dot = token.LastIndexOf('.');
        byte[] signature = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        signature[bit / 8 % signature.Length] ^= (byte)(1 << (bit % 8));
        return token[..(dot + 1)] + Base64Url.EncodeToString(signature);
    }

    /// <summary>The public key of <paramref name="keyId"/> as DER SubjectPublicKeyInfo (e.g. to key an HMAC with it).</summary>
    public byte[] ExportSubjectPublicKeyInfo(string keyId) => Find(keyId).Key.ExportSubjectPublicKeyInfo();

    /// <summary>The public key of <paramref name="keyId"/> as PEM (<c>-----BEGIN PUBLIC KEY-----</c>).</summary>
    public string ExportSubjectPublicKeyInfoPem(string keyId) => Find(keyId).Key.ExportSubjectPublicKeyInfoPem();

    /// <summary>
    /// The JWK Set of the public keys, each with the <c>use</c> and <c>kid</c> chosen in <see cref="AddKey"/>.
    /// </summary>
    /// <param name="extraKeysJson">Raw JWK objects appended to <c>keys</c> as they are (e.g. an unknown <c>kty</c>).</param>
    public byte[] CreateJwks(params string[] extraKeysJson)
    {
        ArgumentNullException.ThrowIfNull(extraKeysJson);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("keys");
            foreach (SigningKey key in _keys)
            {
                w.WriteStartObject();
                if (key.Key is RSA rsa)
                {
                    RSAParameters p = rsa.ExportParameters(false);
                    w.WriteString("kty", "RSA");
                    WriteUseAndKid(w, key);
                    w.WriteString("n", Base64Url.EncodeToString(p.Modulus));
                    w.WriteString("e", Base64Url.EncodeToString(p.Exponent));
                }
                else
                {
                    ECParameters p = ((ECDsa)key.Key).ExportParameters(false);
                    w.WriteString("kty", "EC");
                    WriteUseAndKid(w, key);
                    w.WriteString("crv", key.Algorithm switch { "ES256" => "P-256", "ES384" => "P-384", _ => "P-521" });
                    w.WriteString("x", Base64Url.EncodeToString(p.Q.X));
                    w.WriteString("y", Base64Url.EncodeToString(p.Q.Y));
                }

                w.WriteEndObject();
            }

            foreach (string extra in extraKeysJson)
            {
                w.WriteRawValue(extra);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The JWT bundle a relying party would get: <see cref="CreateJwks"/> parsed by <see cref="JwtBundle.Parse(TrustDomain, ReadOnlySpan{byte})"/>.</summary>
    public JwtBundle CreateJwtBundle() => JwtBundle.Parse(TrustDomain, CreateJwks());

    /// <summary>Releases the private keys.</summary>
    public void Dispose()
    {
        foreach (SigningKey key in _keys)
        {
            key.Key.Dispose();
        }
    }

    private static void WriteUseAndKid(Utf8JsonWriter w, SigningKey key)
    {
        if (key.Use is not null)
        {
            w.WriteString("use", key.Use);
        }

        if (key.PublishKeyId)
        {
            w.WriteString("kid", key.KeyId);
        }
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private SigningKey First() => _keys.Count > 0 ? _keys[0] : throw new InvalidOperationException("Add a key first (AddKey).");

    private SigningKey Find(string keyId)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return _keys.Find(k => k.KeyId == keyId) ?? throw new ArgumentException($"No key {keyId}.", nameof(keyId));
    }

    private sealed record SigningKey(string KeyId, string Algorithm, AsymmetricAlgorithm Key, string? Use, bool PublishKeyId);
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Testing;
using static Spiffe.Core.Tests.Bundles.BundleTestData;
using static Spiffe.Core.Tests.Jwt.JwtTestKeys;

namespace Spiffe.Core.Tests.Bundles;

public class JwtBundleTests
{
    private const string P256 = "{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}";

    private static string Jwks(params string[] keys) => "{\"keys\":[" + string.Join(",", keys) + "]}";

    private static string WithMember(string jwk, string member) => jwk[..^1] + "," + member + "}";

    // ---- Rule 62: keys required, may be empty ----

    [Theory]
    [InlineData("{\"keys\":[]}", 0)]
    [InlineData("{\"keys\":[],\"foo\":1,\"spiffe_sequence\":\"ignored-here\"}", 0)]
    [InlineData("{\"keys\":[" + P256 + "]}", 1)]
    public void Parse_KeysPresent_Accepted(string json, int count)
    {
        JwtBundle bundle = JwtBundle.Parse(Domain, json);

        Assert.Equal(count, bundle.JwtAuthorities.Count);
        Assert.Equal(Domain, bundle.TrustDomain);
    }

    [Theory]
    [InlineData("{}", "no \"keys\"")]
    [InlineData("{\"keys\":{}}", "not an array")]
    [InlineData("{\"keys\":null}", "not an array")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("", "not valid JSON")]
    [InlineData("{\"keys\":[]", "not valid JSON")]
    [InlineData("{\"keys\":[]} x", "not valid JSON")]
    [InlineData("{\"keys\":[],\"keys\":[]}", "not valid JSON")]
    [InlineData("{\"keys\":[1]}", "Key 0")]
    public void Parse_KeysMissingOrMalformedDocument_Throws(string json, string fragment)
    {
        FormatException e = Assert.Throws<FormatException>(() => JwtBundle.Parse(Domain, json));

        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    // ---- Rules 58, 67 (Z3): use == "jwt-svid" (case-sensitive) or, in the Workload API format as SPIRE sends it, no use ----

    [Theory]
    [InlineData("jwt-svid", true)]
    [InlineData("x509-svid", false)]
    [InlineData("sig", false)]
    [InlineData("JWT-SVID", false)]
    [InlineData("jwt-svid ", false)]
    [InlineData(null, true)]
    public void Parse_KeyUse_OnlyJwtSvidKept(string? use, bool kept)
    {
        using var authority = new TestJwtAuthority(Domain);
        authority.AddKey("ES256", "first");
        authority.AddKey("ES256", "probe", use: use);

        JwtBundle bundle = JwtBundle.Parse(Domain, authority.CreateJwks());

        Assert.True(bundle.TryGetJwtAuthority("first", out _));
        Assert.Equal(kept, bundle.TryGetJwtAuthority("probe", out _));
    }

    // ---- Rule 66: unknown kty (or curve) ignored one by one ----

    [Theory]
    [InlineData("{\"kty\":\"XYZ\",\"use\":\"jwt-svid\",\"kid\":\"u\"}")]
    [InlineData("{\"use\":\"jwt-svid\",\"kid\":\"u\"}")]
    [InlineData("{\"kty\":\"OKP\",\"use\":\"jwt-svid\",\"kid\":\"u\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}")]
    [InlineData("{\"kty\":\"oct\",\"use\":\"jwt-svid\",\"kid\":\"u\",\"k\":\"AAAA\"}")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"u\",\"crv\":\"secp256k1\",\"x\":\"AAAA\",\"y\":\"AAAA\"}")]
    public void Parse_UnknownKeyTypeBetweenKnownKeys_OnlyThatKeyIgnored(string unknown)
    {
        using var authority = new TestJwtAuthority(Domain, Clock());
        authority.AddKey("ES256", "k0");
        authority.AddKey("RS256", "k1");
        byte[] jwks = authority.CreateJwks(unknown);

        JwtBundle bundle = JwtBundle.Parse(Domain, jwks);

        Assert.Equal(["k0", "k1"], bundle.JwtAuthorities.Select(a => a.KeyId));
        var validator = new JwtSvidValidator(bundle, ["svc"], Clock());
        SpiffeId id = SpiffeId.Parse("spiffe://example.org/web");
        Assert.True(validator.Validate(authority.MintJwtSvid(id, ["svc"], keyId: "k0")).IsValid);
        Assert.True(validator.Validate(authority.MintJwtSvid(id, ["svc"], keyId: "k1")).IsValid);
    }

    // ---- Known but malformed jwt-svid keys fail the bundle ----

    [Theory]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"crv\":\"P-256\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}", "lacks \"x\"")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}", "without \"crv\"")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"crv\":\"P-384\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}", "wrong length")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyQ\"}", "not a valid EC public key")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"crv\":\"P-256\",\"x\":\"MKBC+NIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}", "not base64url")]
    [InlineData("{\"kty\":\"RSA\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"e\":\"AQAB\"}", "lacks \"n\"")]
    [InlineData("{\"kty\":\"RSA\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"n\":\"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw\",\"e\":\"AQAB\",\"d\":\"AAAA\"}", "private key material")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}", "empty \"kid\"")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":7,\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}", "\"kid\" that is not a string")]
    [InlineData("{\"kty\":\"EC\",\"use\":1,\"kid\":\"k\"}", "\"use\" that is not a string")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kty\":\"RSA\"}", "not valid JSON")]
    public void Parse_MalformedJwtSvidKey_Throws(string jwk, string fragment)
    {
        FormatException e = Assert.Throws<FormatException>(() => JwtBundle.Parse(Domain, Jwks(jwk)));

        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("MKBC", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1024, false)]
    [InlineData(2040, false)]
    [InlineData(2048, true)]
    public void Parse_RsaKeySize_AtLeast2048Bits(int bits, bool accepted)
    {
        using var rsa = RSA.Create(bits);
        RSAParameters p = rsa.ExportParameters(false);
        string jwk = $"{{\"kty\":\"RSA\",\"use\":\"jwt-svid\",\"kid\":\"k\",\"n\":\"{System.Buffers.Text.Base64Url.EncodeToString(p.Modulus)}\",\"e\":\"{System.Buffers.Text.Base64Url.EncodeToString(p.Exponent)}\"}}";

        if (accepted)
        {
            Assert.Equal("RSA", Assert.Single(JwtBundle.Parse(Domain, Jwks(jwk)).JwtAuthorities).KeyType);
        }
        else
        {
            FormatException e = Assert.Throws<FormatException>(() => JwtBundle.Parse(Domain, Jwks(jwk)));
            Assert.Contains("shorter than 2048 bits", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Parse_DuplicateKid_Throws()
    {
        FormatException e = Assert.Throws<FormatException>(() => JwtBundle.Parse(Domain, Jwks(P256, P256)));

        Assert.Contains("repeats key ID \"k\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ValidP256Jwk_KeyAndKidRead()
    {
        JwtAuthority authority = Assert.Single(JwtBundle.Parse(Domain, Jwks(P256)).JwtAuthorities);

        Assert.Equal("k", authority.KeyId);
        Assert.Equal("EC", authority.KeyType);
        Assert.Equal("P-256", authority.Curve);
        using var key = Assert.IsAssignableFrom<ECDsa>(authority.CreatePublicKey());
        Assert.Equal(256, key.KeySize);
    }

    // ---- Z2: a jwt-svid key without kid is kept but never found by kid ----

    [Fact]
    public void Parse_JwtSvidKeyWithoutKid_KeptButNotFoundByKid()
    {
        string jwk = P256.Replace("\"kid\":\"k\",", "", StringComparison.Ordinal);

        JwtBundle bundle = JwtBundle.Parse(Domain, Jwks(jwk));

        Assert.Null(Assert.Single(bundle.JwtAuthorities).KeyId);
        Assert.False(bundle.TryGetJwtAuthority("k", out _));
        Assert.DoesNotContain("kid", Encoding.UTF8.GetString(bundle.ToJwks()), StringComparison.Ordinal);
    }

    // ---- Lookup, serialization, source ----

    [Theory]
    [InlineData("key-1", true)]
    [InlineData("Key-1", false)]
    [InlineData("key-1 ", false)]
    [InlineData("", false)]
    public void TryGetJwtAuthority_ExactKid_Found(string kid, bool found)
    {
        using var authority = new TestJwtAuthority(Domain);
        authority.AddKey("ES256", "key-1");

        Assert.Equal(found, authority.CreateJwtBundle().TryGetJwtAuthority(kid, out _));
    }

    [Theory]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("RS256")]
    public void ToJwks_ParsedAgain_SameKeys(string algorithm)
    {
        using var authority = new TestJwtAuthority(Domain);
        authority.AddKey(algorithm, "a");
        authority.AddKey("ES256", "b");
        JwtBundle bundle = authority.CreateJwtBundle();

        byte[] jwks = bundle.ToJwks();
        JwtBundle again = JwtBundle.Parse(Domain, jwks);

        Assert.Equal(bundle.JwtAuthorities.Select(a => a.KeyId), again.JwtAuthorities.Select(a => a.KeyId));
        for (int i = 0; i < bundle.JwtAuthorities.Count; i++)
        {
            Assert.Equal(bundle.JwtAuthorities[i].ExportSubjectPublicKeyInfo(), again.JwtAuthorities[i].ExportSubjectPublicKeyInfo());
        }

        using JsonDocument document = JsonDocument.Parse(jwks);
        foreach (JsonElement key in document.RootElement.GetProperty("keys").EnumerateArray())
        {
            Assert.Equal("jwt-svid", key.GetProperty("use").GetString());
            Assert.True(key.TryGetProperty("kid", out _));
            Assert.False(key.TryGetProperty("d", out _));
        }
    }

    [Fact]
    public void GetJwtBundle_OwnAndOtherTrustDomain_SelfOrNull()
    {
        var bundle = new JwtBundle(Domain);

        Assert.Same(bundle, bundle.GetJwtBundle(TrustDomain.Parse("example.org")));
        Assert.Null(bundle.GetJwtBundle(TrustDomain.Parse("other.org")));
        Assert.Equal("JwtBundle(example.org, 0 authorities)", bundle.ToString());
    }

    [Fact]
    public void JwtAuthorities_CastToMutableList_CannotBeChanged()
    {
        using var authority = new TestJwtAuthority(Domain);
        authority.AddKey("ES256", "a");
        JwtBundle bundle = authority.CreateJwtBundle();
        var list = (IList<JwtAuthority>)bundle.JwtAuthorities;

        Assert.Throws<NotSupportedException>(() => list[0] = list[0]);
        Assert.IsNotType<JwtAuthority[]>(bundle.JwtAuthorities);
    }

    [Fact]
    public void Constructor_DuplicateKid_Throws()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Assert.Throws<ArgumentException>(() => new JwtBundle(Domain, [new JwtAuthority("k", ec), new JwtAuthority("k", ec)]));
    }

    // ---- JwtAuthority ----

    [Theory]
    [InlineData("rsa-1024")]
    [InlineData("brainpool")]
    [InlineData("empty-kid")]
    public void JwtAuthority_UnsupportedKey_Throws(string name)
    {
        using AsymmetricAlgorithm key = name switch
        {
            "rsa-1024" => RSA.Create(1024),
            "brainpool" => ECDsa.Create(ECCurve.NamedCurves.brainpoolP256r1),
            _ => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        };

        Assert.Throws<ArgumentException>(() => new JwtAuthority(name == "empty-kid" ? "" : "k", key));
    }

    [Theory]
    [InlineData("P-256")]
    [InlineData("P-384")]
    [InlineData("P-521")]
    [InlineData("RSA")]
    public void JwtAuthority_SupportedKey_KeepsOnlyPublicPart(string kind)
    {
        using AsymmetricAlgorithm key = kind switch
        {
            "P-256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
            "P-384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
            "P-521" => ECDsa.Create(ECCurve.NamedCurves.nistP521),
            _ => RSA.Create(2048),
        };

        var authority = new JwtAuthority(null, key);

        Assert.Equal(kind == "RSA" ? null : kind, authority.Curve);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), authority.ExportSubjectPublicKeyInfo());
        using AsymmetricAlgorithm copy = authority.CreatePublicKey();
        Assert.ThrowsAny<CryptographicException>(() => copy.ExportPkcs8PrivateKey());
        Assert.DoesNotContain("BEGIN", authority.ToString(), StringComparison.Ordinal);
    }
}

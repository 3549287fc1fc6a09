using System.Text;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Testing;
using static Spiffe.Core.Tests.Jwt.JwtTestKeys;

namespace Spiffe.Core.Tests.Jwt;

public class JwtSvidValidatorTests
{
    // Throws the result as an exception, so the rule tables can assert on JwtSvidException (as JwtSvid.ParseAndValidate throws it).
    private static JwtSvid Validate(string token, IJwtBundleSource? bundles = null, TimeProvider? clock = null, TimeSpan? leeway = null, string[]? audiences = null)
    {
        JwtSvidValidationResult result = new JwtSvidValidator(bundles ?? AllBundles, audiences ?? ["svc"], clock ?? Clock(), leeway).Validate(token);
        return result.IsValid ? result.Svid : throw new JwtSvidException(result.ErrorKind, result.Error);
    }

    private static void AssertRejected(string token, string messageFragment, IJwtBundleSource? bundles = null, TimeProvider? clock = null, TimeSpan? leeway = null)
    {
        JwtSvidException e = Assert.Throws<JwtSvidException>(() => Validate(token, bundles, clock, leeway));
        Assert.Contains(messageFragment, e.Message, StringComparison.Ordinal);
        if (token.Length > 0)
        {
            Assert.DoesNotContain(token, e.Message, StringComparison.Ordinal);
        }
    }

    // ---- Rule 48: the nine algorithms, each with a matching key ----

    [Theory]
    [InlineData("RS256")]
    [InlineData("RS384")]
    [InlineData("RS512")]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("PS256")]
    [InlineData("PS384")]
    [InlineData("PS512")]
    public void Validate_AllowedAlgorithmWithMatchingKey_Accepted(string algorithm)
    {
        JwtSvid svid = Validate(ValidA(algorithm));

        Assert.Equal("spiffe://example.org/web", svid.Id.ToString());
        Assert.Equal(algorithm, svid.Algorithm);
        Assert.Equal(Kid(algorithm), svid.KeyId);
        Assert.Equal(["svc"], svid.Audience);
        Assert.Equal(Now.AddMinutes(5), svid.ExpiresAt);
        Assert.Equal(Now, svid.IssuedAt);
    }

    [Theory]
    [InlineData("none-with-signature", "\"none\" is not allowed")]
    [InlineData("none-empty-signature", "no signature")]
    [InlineData("HS256-random-secret", "\"HS256\" is not allowed")]
    [InlineData("HS384-random-secret", "\"HS384\" is not allowed")]
    [InlineData("HS512-random-secret", "\"HS512\" is not allowed")]
    [InlineData("HS256-keyed-with-spki-der", "\"HS256\" is not allowed")]
    [InlineData("HS256-keyed-with-spki-pem", "\"HS256\" is not allowed")]
    [InlineData("EdDSA", "\"EdDSA\" is not allowed")]
    [InlineData("ES256K", "\"ES256K\" is not allowed")]
    [InlineData("es256", "\"es256\" is not allowed")]
    [InlineData("RS1", "\"RS1\" is not allowed")]
    [InlineData("missing-alg", "no \"alg\"")]
    [InlineData("alg-number", "\"alg\" is not a string")]
    public void Validate_DisallowedAlgorithm_RejectedBeforeAnyKeyUse(string name, string fragment)
    {
        string claims = Claims();
        string token = name switch
        {
            "none-with-signature" => TestJwtAuthority.Encode(Object(("alg", "\"none\""))) + "." + TestJwtAuthority.Encode(claims) + ".AAAA",
            "none-empty-signature" => TestJwtAuthority.Encode(Object(("alg", "\"none\""))) + "." + TestJwtAuthority.Encode(claims) + ".",
            "HS256-random-secret" => TestJwtAuthority.SignHmac(Guid.NewGuid().ToByteArray(), "HS256", Header("HS256", kid: "\"es256\""), claims),
            "HS384-random-secret" => TestJwtAuthority.SignHmac(Guid.NewGuid().ToByteArray(), "HS384", Header("HS384", kid: "\"es256\""), claims),
            "HS512-random-secret" => TestJwtAuthority.SignHmac(Guid.NewGuid().ToByteArray(), "HS512", Header("HS512", kid: "\"es256\""), claims),
            "HS256-keyed-with-spki-der" => TestJwtAuthority.SignHmac(A.ExportSubjectPublicKeyInfo("rs256"), "HS256", Header("HS256", kid: "\"rs256\""), claims),
            "HS256-keyed-with-spki-pem" => TestJwtAuthority.SignHmac(Encoding.ASCII.GetBytes(A.ExportSubjectPublicKeyInfoPem("rs256")), "HS256", Header("HS256", kid: "\"rs256\""), claims),
            "EdDSA" => SignA("ES256", Header("EdDSA", kid: "\"es256\""), claims),
            "ES256K" => SignA("ES256", Header("ES256K", kid: "\"es256\""), claims),
            "es256" => SignA("ES256", Header("es256", kid: "\"es256\""), claims),
            "RS1" => SignA("RS256", Header("RS1", kid: "\"rs256\""), claims),
            "missing-alg" => SignA("ES256", Object(("kid", "\"es256\"")), claims),
            "alg-number" => SignA("ES256", Object(("alg", "256"), ("kid", "\"es256\"")), claims),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var source = new CountingSource(AllBundles);

        AssertRejected(token, fragment, source);
        Assert.Equal(0, source.Lookups);
    }

    // ---- Rule 49: alg must fit the key type and curve; ECDSA signatures are raw R‖S ----

    [Theory]
    [InlineData("RS256", "es256", "ES256", false, "does not fit key \"es256\" (EC P-256)")]
    [InlineData("PS256", "es256", "ES256", false, "does not fit key \"es256\" (EC P-256)")]
    [InlineData("ES256", "rs256", "RS256", false, "does not fit key \"rs256\" (RSA)")]
    [InlineData("ES384", "es256", "ES384", false, "does not fit key \"es256\" (EC P-256)")]
    [InlineData("ES512", "es384", "ES512", false, "does not fit key \"es384\" (EC P-384)")]
    [InlineData("ES256", "es512", "ES256", false, "does not fit key \"es512\" (EC P-521)")]
    [InlineData("RS256", "rs256", "PS256", false, "signature does not verify")]
    [InlineData("PS256", "ps256", "RS256", false, "signature does not verify")]
    [InlineData("RS256", "rs256", "RS384", false, "signature does not verify")]
    [InlineData("ES256", "es256", "ES256", true, "signature does not verify")]
    [InlineData("ES384", "es384", "ES384", true, "signature does not verify")]
    [InlineData("ES512", "es512", "ES512", true, "signature does not verify")]
    public void Validate_AlgorithmNotFittingKeyOrSignatureForm_Rejected(string headerAlg, string kid, string signWith, bool derSignature, string fragment)
    {
        string token = A.Sign(kid, Header(headerAlg, kid: "\"" + kid + "\""), Claims(), signWith, derSignature);

        AssertRejected(token, fragment);
    }

    [Theory]
    [InlineData("ES384", "es256")]
    [InlineData("ES512", "es384")]
    [InlineData("RS256", "es256")]
    public void Validate_NoKidAndNoFittingKeyVerifies_Rejected(string headerAlg, string signingKid)
    {
        string token = A.Sign(signingKid, Header(headerAlg, kid: null), Claims(), headerAlg);

        AssertRejected(token, "no \"kid\"");
    }

    // ---- Rule 50: kid optional ----

    [Theory]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("RS256")]
    [InlineData("PS512")]
    public void Validate_NoKid_AcceptedByTryingFittingKeys(string algorithm)
    {
        JwtSvid svid = Validate(SignA(algorithm, Header(algorithm, kid: null), Claims()));

        Assert.Null(svid.KeyId);
        Assert.Equal(algorithm, svid.Algorithm);
    }

    [Theory]
    [InlineData("\"missing\"", "no JWT authority with key ID \"missing\"")]
    [InlineData("\"ES256\"", "no JWT authority with key ID \"ES256\"")]
    [InlineData("\"es384\"", "does not fit key \"es384\"")]
    [InlineData("\"\"", "empty \"kid\"")]
    [InlineData("7", "\"kid\" is not a string")]
    public void Validate_KidNotNamingTheSigningKey_Rejected(string kid, string fragment)
    {
        string token = SignA("ES256", Header("ES256", kid: kid), Claims());

        AssertRejected(token, fragment);
    }

    [Fact]
    public void Validate_KidOfAnotherKeyOfTheSameType_Rejected()
    {
        using var authority = new TestJwtAuthority(DomainA, Clock());
        authority.AddKey("ES256", "one");
        authority.AddKey("ES256", "two");
        string token = authority.Sign("one", Header("ES256", kid: "\"two\""), Claims());

        JwtSvidException e = Assert.Throws<JwtSvidException>(() => Validate(token, authority.CreateJwtBundle()));
        Assert.Contains("does not verify with key \"two\"", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Validate_SeveralKeysTokenUsesSecond_Accepted(bool withKid)
    {
        using var authority = new TestJwtAuthority(DomainA, Clock());
        authority.AddKey("ES256", "first");
        authority.AddKey("ES256", "second");
        authority.AddKey("ES256", "third");
        string token = authority.Sign("second", Header("ES256", kid: withKid ? "\"second\"" : null), Claims());

        JwtSvid svid = Validate(token, authority.CreateJwtBundle());

        Assert.Equal(withKid ? "second" : null, svid.KeyId);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("\"hidden\"", false)]
    public void Validate_BundleKeyWithoutKid_UsableOnlyByTokensWithoutKid(string? kid, bool accepted)
    {
        using var authority = new TestJwtAuthority(DomainA, Clock());
        authority.AddKey("ES256", "hidden", publishKeyId: false);
        JwtBundle bundle = authority.CreateJwtBundle();
        string token = authority.Sign("hidden", Header("ES256", kid: kid), Claims());

        if (accepted)
        {
            Assert.Equal("spiffe://example.org/web", Validate(token, bundle).Id.ToString());
        }
        else
        {
            AssertRejected(token, "no JWT authority with key ID \"hidden\"", bundle);
        }
    }

    // ---- Rule 51: typ ----

    [Theory]
    [InlineData("\"JWT\"")]
    [InlineData("\"JOSE\"")]
    [InlineData(null)]
    public void Validate_AllowedTyp_Accepted(string? typ)
    {
        Assert.NotNull(Validate(SignA("ES256", Header("ES256", typ: typ), Claims())));
    }

    [Theory]
    [InlineData("\"at+jwt\"", "\"typ\" is \"at+jwt\"")]
    [InlineData("\"JWS\"", "\"typ\" is \"JWS\"")]
    [InlineData("\"\"", "\"typ\" is \"\"")]
    [InlineData("\"jwt\"", "\"typ\" is \"jwt\"")]
    [InlineData("\"application/jwt\"", "\"typ\" is \"application/jwt\"")]
    [InlineData("\"jose\"", "\"typ\" is \"jose\"")]
    [InlineData("1", "\"typ\" is not a string")]
    [InlineData("null", "\"typ\" is not a string")]
    public void Validate_OtherTyp_Rejected(string typ, string fragment)
    {
        AssertRejected(SignA("ES256", Header("ES256", typ: typ), Claims()), fragment);
    }

    // ---- Rule 47 / Z6: only alg, kid and typ ----

    [Theory]
    [InlineData("crit", "[\"exp\"]", "has \"crit\"")]
    [InlineData("jwk", "{\"kty\":\"EC\"}", "has \"jwk\"")]
    [InlineData("jku", "\"https://evil.example/jwks\"", "has \"jku\"")]
    [InlineData("x5u", "\"https://evil.example/cert\"", "has \"x5u\"")]
    [InlineData("x5c", "[\"MIIB\"]", "has \"x5c\"")]
    [InlineData("x5t", "\"abc\"", "has \"x5t\"")]
    [InlineData("cty", "\"JWT\"", "has \"cty\"")]
    [InlineData("b64", "false", "has \"b64\"")]
    [InlineData("foo", "1", "has \"foo\"")]
    [InlineData("alg", "\"ES256\"", "\"alg\" more than once")]
    [InlineData("kid", "\"es256\"", "\"kid\" more than once")]
    [InlineData("typ", "\"JWT\"", "\"typ\" more than once")]
    public void Validate_HeaderMemberOtherThanAlgKidTyp_Rejected(string name, string rawValue, string fragment)
    {
        string header = Header("ES256")[..^1] + ",\"" + name + "\":" + rawValue + "}";

        AssertRejected(SignA("ES256", header, Claims()), fragment);
    }

    [Fact]
    public void Validate_HeaderWithOnlyAlg_Accepted()
    {
        Assert.Null(Validate(SignA("ES256", Object(("alg", "\"ES256\"")), Claims())).KeyId);
    }

    [Fact]
    public void Validate_HeaderMembersEscaped_ReadAsTheirUnescapedNames()
    {
        string header = "{\"\\u0061lg\":\"ES256\",\"kid\":\"es256\"}";

        Assert.Equal("ES256", Validate(SignA("ES256", header, Claims())).Algorithm);
    }

    // ---- Rules 45, 46, 56: compact serialization, structure, encoding ----

    [Theory]
    [InlineData("flattened-json", "JSON serialization")]
    [InlineData("general-json", "JSON serialization")]
    [InlineData("jwe-5-parts", "five parts")]
    [InlineData("2-parts", "has 2 parts")]
    [InlineData("4-parts", "has 4 parts")]
    [InlineData("1-part", "has 1 parts")]
    [InlineData("empty", "is empty")]
    [InlineData("empty-signature", "no signature")]
    [InlineData("empty-payload", "empty header or payload")]
    [InlineData("plus-in-payload", "not base64url")]
    [InlineData("padding-in-signature", "not base64url")]
    [InlineData("space", "not base64url")]
    [InlineData("non-ascii-at-end", "at index")]
    [InlineData("header-not-json", "header is not valid JSON")]
    [InlineData("header-json-array", "header is not a JSON object")]
    [InlineData("header-trailing-data", "header is not valid JSON")]
    [InlineData("header-bad-base64url-length", "header is not valid base64url")]
    [InlineData("payload-not-json", "payload is not valid JSON")]
    [InlineData("payload-json-array", "payload is not a JSON object")]
    [InlineData("payload-trailing-data", "payload is not valid JSON")]
    [InlineData("payload-duplicate-claim", "\"sub\" more than once")]
    [InlineData("signature-bad-base64url-length", "signature is not valid base64url")]
    public void Validate_MalformedStructure_Rejected(string name, string fragment)
    {
        string valid = ValidA();
        string[] parts = valid.Split('.');
        string token = name switch
        {
            "flattened-json" => $"{{\"protected\":\"{parts[0]}\",\"payload\":\"{parts[1]}\",\"signature\":\"{parts[2]}\"}}",
            "general-json" => $"{{\"payload\":\"{parts[1]}\",\"signatures\":[{{\"protected\":\"{parts[0]}\",\"signature\":\"{parts[2]}\"}}]}}",
            "jwe-5-parts" => $"{parts[0]}.{parts[1]}.{parts[2]}.{parts[1]}.{parts[2]}",
            "2-parts" => $"{parts[0]}.{parts[1]}",
            "4-parts" => $"{valid}.{parts[2]}",
            "1-part" => parts[0],
            "empty" => "",
            "empty-signature" => $"{parts[0]}.{parts[1]}.",
            "empty-payload" => $"{parts[0]}..{parts[2]}",
            "plus-in-payload" => $"{parts[0]}.{parts[1][..^1]}+.{parts[2]}",
            "padding-in-signature" => $"{valid}==",
            "space" => $"{parts[0]}. {parts[1]}.{parts[2]}",
            "non-ascii-at-end" => $"{valid}\u00e9",
            "header-not-json" => SignA("ES256", "not json", Claims()),
            "header-json-array" => SignA("ES256", "[\"ES256\"]", Claims()),
            "header-trailing-data" => SignA("ES256", Header("ES256") + "x", Claims()),
            "header-bad-base64url-length" => $"{parts[0]}A.{parts[1]}.{parts[2]}".Length % 4 == 1 ? $"{parts[0]}A.{parts[1]}.{parts[2]}" : $"A{parts[0][..(parts[0].Length - (parts[0].Length % 4))]}.{parts[1]}.{parts[2]}",
            "payload-not-json" => SignA("ES256", Header("ES256"), "sub=spiffe://example.org/web"),
            "payload-json-array" => SignA("ES256", Header("ES256"), "[1]"),
            "payload-trailing-data" => SignA("ES256", Header("ES256"), Claims() + "{}"),
            "payload-duplicate-claim" => SignA("ES256", Header("ES256"), Claims(extra: "\"sub\":\"spiffe://example.org/admin\"")),
            "signature-bad-base64url-length" => SignatureOfLength(valid, 1),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        AssertRejected(token, fragment);
    }

    private static string SignatureOfLength(string token, int remainder)
    {
        string head = token[..(token.LastIndexOf('.') + 1)];
        string signature = token[(token.LastIndexOf('.') + 1)..];
        while (signature.Length % 4 != remainder)
        {
            signature += "A";
        }

        return head + signature;
    }

    [Fact]
    public void Validate_DefaultToken_Accepted()
    {
        string token = ValidA();

        JwtSvid svid = Validate(token);

        Assert.Equal(token, svid.Token);
        Assert.Equal(DomainA, svid.Id.TrustDomain);
    }

    // ---- Rule 56: signature ----

    [Theory]
    [InlineData("ES256", 0)]
    [InlineData("ES256", 300)]
    [InlineData("ES512", 1055)]
    [InlineData("RS256", 0)]
    [InlineData("PS384", 2047)]
    public void Validate_SignatureBitFlipped_Rejected(string algorithm, int bit)
    {
        AssertRejected(TestJwtAuthority.FlipSignatureBit(ValidA(algorithm), bit), "signature does not verify");
    }

    [Theory]
    [InlineData("ES256")]
    [InlineData("RS256")]
    public void Validate_ClaimsChangedKeepingSignature_Rejected(string algorithm)
    {
        string token = ValidA(algorithm);
        string forged = SignA(algorithm, Header(algorithm), Claims(sub: "\"spiffe://example.org/admin\""));
        string[] t = token.Split('.');
        string[] f = forged.Split('.');

        AssertRejected($"{t[0]}.{f[1]}.{t[2]}", "signature does not verify");
    }

    // ---- Rule 52: sub ----

    [Theory]
    [InlineData("spiffe://example.org/web")]
    [InlineData("spiffe://example.org")]
    [InlineData("spiffe://example.org/ns/prod/sa/web")]
    [InlineData("spiffe://example.org/Upper/Case.Path-_x")]
    [InlineData("spiffe://example.org/a/.b/c..")]
    public void Validate_SubjectValidSpiffeId_AcceptedAndReturnedExactly(string subject)
    {
        JwtSvid svid = Validate(SignA("ES256", Header("ES256"), Claims(sub: "\"" + subject + "\"")));

        Assert.Equal(subject, svid.Id.ToString());
    }

    [Theory]
    [InlineData(null, "no \"sub\"")]
    [InlineData("\"https://example.org/web\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe://Example.org/web\"", "not a valid SPIFFE ID")]
    [InlineData("\"SPIFFE://example.org/web\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe://example.org/\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe://example.org/a/../b\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe://example.org/a//b\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe://example.org/a%20b\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe://example.org/web?x=1\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe://user@example.org/web\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe://example.org:8080/web\"", "not a valid SPIFFE ID")]
    [InlineData("\"spiffe:///web\"", "not a valid SPIFFE ID")]
    [InlineData("\"\"", "not a valid SPIFFE ID")]
    [InlineData("42", "\"sub\" claim is not a string")]
    [InlineData("[\"spiffe://example.org/web\"]", "\"sub\" claim is not a string")]
    public void Validate_SubjectMissingOrInvalid_Rejected(string? sub, string fragment)
    {
        AssertRejected(SignA("ES256", Header("ES256"), Claims(sub: sub)), fragment);
    }

    // ---- Rule 53: aud ----

    [Theory]
    [InlineData("[\"svc\"]")]
    [InlineData("\"svc\"")]
    [InlineData("[\"other\",\"svc\"]")]
    public void Validate_AudienceContainsExpected_Accepted(string aud)
    {
        Assert.Contains("svc", Validate(SignA("ES256", Header("ES256"), Claims(aud: aud))).Audience);
    }

    [Theory]
    [InlineData(null, "no \"aud\"")]
    [InlineData("[\"other\"]", "none of the expected audiences")]
    [InlineData("\"other\"", "none of the expected audiences")]
    [InlineData("[\"SVC\"]", "none of the expected audiences")]
    [InlineData("[]", "\"aud\" claim is empty")]
    [InlineData("\"\"", "\"aud\" claim is empty")]
    [InlineData("[\"svc\",1]", "element that is not a string")]
    [InlineData("{\"svc\":true}", "neither a string nor an array")]
    [InlineData("null", "neither a string nor an array")]
    public void Validate_AudienceMissingOrNotExpected_Rejected(string? aud, string fragment)
    {
        AssertRejected(SignA("ES256", Header("ES256"), Claims(aud: aud)), fragment);
    }

    [Fact]
    public void Validate_AnyOfSeveralConfiguredAudiences_Accepted()
    {
        string token = SignA("ES256", Header("ES256"), Claims(aud: "[\"b\"]"));

        Assert.Equal(["b"], Validate(token, audiences: ["a", "b"]).Audience);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("empty-string")]
    [InlineData("null-element")]
    public void Constructor_NoOrEmptyAudience_Throws(string name)
    {
        string?[] audiences = name switch
        {
            "none" => [],
            "empty-string" => [""],
            _ => ["svc", null],
        };

        Assert.Throws<ArgumentException>(() => new JwtSvidValidator(AllBundles, audiences!));
        Assert.Throws<ArgumentException>(() => JwtSvid.ParseInsecure(ValidA(), audiences!));
    }

    // ---- Rules 54, 55: exp, nbf, leeway ----

    [Theory]
    [InlineData(300, null, 30, true)]
    [InlineData(-300, null, 30, false)]
    [InlineData(-10, null, 30, true)]
    [InlineData(-10, null, 0, false)]
    [InlineData(0, null, 0, false)]
    [InlineData(1, null, 0, true)]
    [InlineData(-59, null, 60, true)]
    [InlineData(-61, null, 60, false)]
    [InlineData(300, 300, 30, false)]
    [InlineData(300, -60, 30, true)]
    [InlineData(300, 10, 30, true)]
    [InlineData(300, 10, 0, false)]
    [InlineData(300, 0, 0, true)]
    public void Validate_ExpiryAndNotBefore_HonouredWithLeeway(int expOffset, int? nbfOffset, int leewaySeconds, bool accepted)
    {
        string claims = Claims(exp: (NowSeconds + expOffset).ToString(System.Globalization.CultureInfo.InvariantCulture), nbf: nbfOffset is null ? null : (NowSeconds + nbfOffset.Value).ToString(System.Globalization.CultureInfo.InvariantCulture));
        string token = SignA("ES256", Header("ES256"), claims);
        TimeSpan leeway = TimeSpan.FromSeconds(leewaySeconds);

        if (accepted)
        {
            Assert.NotNull(Validate(token, leeway: leeway));
        }
        else
        {
            AssertRejected(token, nbfOffset is > 0 ? "not valid before" : "expired at", leeway: leeway);
        }
    }

    [Fact]
    public void Validate_ClockAdvancesPastExpiry_Rejected()
    {
        var clock = new FakeTimeProvider(Now);
        var validator = new JwtSvidValidator(AllBundles, ["svc"], clock, TimeSpan.Zero);
        string token = ValidA();
        Assert.True(validator.Validate(token).IsValid);

        clock.Advance(TimeSpan.FromMinutes(5));

        JwtSvidValidationResult result = validator.Validate(token);
        Assert.False(result.IsValid);
        Assert.Null(result.Svid);
        Assert.Equal(JwtSvidErrorKind.Expired, result.ErrorKind);
        Assert.Contains("expired", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "no \"exp\"")]
    [InlineData("\"1767269100\"", "\"exp\" claim is not a number")]
    [InlineData("null", "\"exp\" claim is not a number")]
    [InlineData("true", "\"exp\" claim is not a number")]
    [InlineData("1e300", "\"exp\" claim is out of range")]
    [InlineData("99999999999999999999", "\"exp\" claim is out of range")]
    public void Validate_ExpMissingOrNotNumeric_Rejected(string? exp, string fragment)
    {
        AssertRejected(SignA("ES256", Header("ES256"), Claims(exp: exp)), fragment);
    }

    [Theory]
    [InlineData("nbf", "\"soon\"")]
    [InlineData("iat", "\"now\"")]
    public void Validate_OptionalTimeClaimNotNumeric_Rejected(string claim, string raw)
    {
        string claims = claim == "nbf" ? Claims(nbf: raw) : Claims(iat: raw);

        AssertRejected(SignA("ES256", Header("ES256"), claims), $"\"{claim}\" claim is not a number");
    }

    [Fact]
    public void Validate_FractionalExp_Accepted()
    {
        string exp = (NowSeconds + 300).ToString(System.Globalization.CultureInfo.InvariantCulture) + ".5";

        JwtSvid svid = Validate(SignA("ES256", Header("ES256"), Claims(exp: exp)));

        Assert.Equal(Now.AddSeconds(300.5), svid.ExpiresAt);
    }

    [Theory]
    [InlineData(61)]
    [InlineData(-1)]
    [InlineData(3600)]
    public void Constructor_LeewayOutOfRange_Throws(int seconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new JwtSvidValidator(AllBundles, ["svc"], leeway: TimeSpan.FromSeconds(seconds)));
    }

    [Theory]
    [InlineData(null, 30)]
    [InlineData(0, 0)]
    [InlineData(60, 60)]
    public void Constructor_LeewayInRange_Kept(int? seconds, int expected)
    {
        var validator = new JwtSvidValidator(AllBundles, ["svc"], leeway: seconds is null ? null : TimeSpan.FromSeconds(seconds.Value));

        Assert.Equal(TimeSpan.FromSeconds(expected), validator.Leeway);
    }

    // ---- Rule 57: the subject's trust domain bundle only ----

    [Theory]
    [InlineData("es256", "\"es256\"", "spiffe://other.org/web", "no JWT authority with key ID \"es256\"")]
    [InlineData("es256", null, "spiffe://other.org/web", "verifies with no ES256 key of other.org")]
    [InlineData("es256", "\"es256\"", "spiffe://third.org/web", "no JWT bundle for trust domain third.org")]
    [InlineData("es256", null, "spiffe://example.org.evil/web", "no JWT bundle for trust domain example.org.evil")]
    public void Validate_SignedByAnotherTrustDomainsKey_Rejected(string signingKid, string? headerKid, string subject, string fragment)
    {
        string token = A.Sign(signingKid, Header("ES256", kid: headerKid), Claims(sub: "\"" + subject + "\""));

        AssertRejected(token, fragment);
    }

    [Fact]
    public void Validate_SubjectInSecondTrustDomainSignedByIt_Accepted()
    {
        string token = B.MintJwtSvid(SpiffeId.Parse("spiffe://other.org/api"), ["svc"]);

        Assert.Equal(DomainB, Validate(token).Id.TrustDomain);
    }

    // ---- Rules 58, 67, 68, 73: only jwt-svid keys ----

    [Theory]
    [InlineData("x509-key", "\"x509-key\"", "no JWT authority with key ID \"x509-key\"")]
    [InlineData("x509-key", null, "verifies with no ES256 key")]
    [InlineData("upper-use-key", "\"upper-use-key\"", "no JWT authority with key ID \"upper-use-key\"")]
    public void Validate_SignedByKeyThatIsNotJwtSvid_Rejected(string signingKid, string? headerKid, string fragment)
    {
        string token = A.Sign(signingKid, Header("ES256", kid: headerKid), Claims());

        AssertRejected(token, fragment);
        Assert.NotNull(Validate(ValidA())); // the jwt-svid keys keep working
    }

    [Fact]
    public void Validate_KeyWithoutUse_TrustedInWorkloadApiBundleButNotInSpiffeBundle()
    {
        // SPIRE sends Workload API JWT bundles whose keys have no "use"; a SPIFFE bundle document must carry it.
        string token = A.Sign("no-use-key", Header("ES256", kid: "\"no-use-key\""), Claims());
        Assert.Equal(DomainA, Validate(token).Id.TrustDomain);

        using SpiffeBundle strict = SpiffeBundle.Parse(DomainA, A.CreateJwks());
        AssertRejected(token, "no JWT authority with key ID \"no-use-key\"", strict);
    }

    [Theory]
    [InlineData("{\"keys\":[]}", "no JWT authority with key ID \"es256\"")]
    [InlineData("{\"keys\":[{\"kty\":\"OKP\",\"use\":\"jwt-svid\",\"kid\":\"es256\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}", "no JWT authority with key ID \"es256\"")]
    [InlineData("{\"keys\":[{\"kty\":\"XYZ\",\"use\":\"jwt-svid\",\"kid\":\"es256\"}]}", "no JWT authority with key ID \"es256\"")]
    public void Validate_BundleWithoutUsableKeys_Rejected(string jwks, string fragment)
    {
        JwtBundle bundle = JwtBundle.Parse(DomainA, jwks);
        Assert.Empty(bundle.JwtAuthorities);

        AssertRejected(ValidA(), fragment, bundle);
        AssertRejected(SignA("ES256", Header("ES256", kid: null), Claims()), "no key that can verify ES256", bundle);
    }

    // ---- The result ----

    [Fact]
    public void Validate_ExtraClaims_ExposedAsJson()
    {
        string token = SignA("ES256", Header("ES256"), Claims(extra: "\"iss\":\"spire\",\"n\":{\"a\":[1,2]}"));

        JwtSvid svid = Validate(token);

        Assert.Equal("spire", svid.Claims["iss"].GetString());
        Assert.Equal(2, svid.Claims["n"].GetProperty("a")[1].GetInt32());
        Assert.Equal("spiffe://example.org/web", svid.Claims["sub"].GetString());
        Assert.Null(svid.NotBefore);
    }

    [Fact]
    public void ToString_ValidSvid_ShowsIdAndNeverTheToken()
    {
        string token = ValidA();
        JwtSvid svid = Validate(token).WithHint("internal");

        string text = svid.ToString();

        Assert.Contains("spiffe://example.org/web", text, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], text, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[1], text, StringComparison.Ordinal);
        Assert.Equal("internal", svid.Hint);
        Assert.Equal(token, svid.Token);
    }

    [Fact]
    public void ParseAndValidate_StaticEntryPoint_ValidatesLikeTheValidator()
    {
        Assert.Equal("ES256", JwtSvid.ParseAndValidate(ValidA(), AllBundles, ["svc"], Clock()).Algorithm);
        Assert.Throws<JwtSvidException>(() => JwtSvid.ParseAndValidate(ValidA(), AllBundles, ["nope"], Clock()));
    }

    /// <summary>Counts bundle lookups, to show that some tokens are refused before any key is considered.</summary>
    private sealed class CountingSource(IJwtBundleSource inner) : IJwtBundleSource
    {
        public int Lookups { get; private set; }

        public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
        {
            Lookups++;
            return inner.GetJwtBundle(trustDomain);
        }
    }

    public static TheoryData<string, JwtSvidErrorKind> ErrorKindCases() => new()
    {
        { "valid", JwtSvidErrorKind.None },
        { "two-parts", JwtSvidErrorKind.Malformed },
        { "sub-not-spiffe-id", JwtSvidErrorKind.Malformed },
        { "alg-HS256", JwtSvidErrorKind.UnsupportedAlgorithm },
        { "alg-none", JwtSvidErrorKind.UnsupportedAlgorithm },
        { "sub-other-trust-domain", JwtSvidErrorKind.NoBundle },
        { "unknown-kid", JwtSvidErrorKind.UnknownKey },
        { "tampered-signature", JwtSvidErrorKind.InvalidSignature },
        { "other-audience", JwtSvidErrorKind.AudienceMismatch },
        { "expired", JwtSvidErrorKind.Expired },
        { "nbf-in-future", JwtSvidErrorKind.NotYetValid },
    };

    // One error kind per rule, the same shape as X509SvidValidationResult; JwtSvid.ParseAndValidate throws the same kind.
    [Theory]
    [MemberData(nameof(ErrorKindCases))]
    public void Validate_EachRule_ResultCarriesItsErrorKind(string scenario, JwtSvidErrorKind expected)
    {
        string valid = ValidA();
        string token = scenario switch
        {
            "valid" => valid,
            "two-parts" => valid[..valid.LastIndexOf('.')],
            "sub-not-spiffe-id" => SignA("ES256", Header("ES256"), Claims(sub: "\"https://example.org/web\"")),
            "alg-HS256" => TestJwtAuthority.SignHmac(Guid.NewGuid().ToByteArray(), "HS256", Header("HS256", kid: "\"es256\""), Claims()),
            "alg-none" => SignA("ES256", Header("none"), Claims()),
            "sub-other-trust-domain" => SignA("ES256", Header("ES256"), Claims(sub: "\"spiffe://third.org/web\"")),
            "unknown-kid" => SignA("ES256", Header("ES256", kid: "\"no-such-key\""), Claims()),
            "tampered-signature" => valid[..^4] + (valid[^4] == 'A' ? "B" : "A") + valid[^3..],
            "other-audience" => SignA("ES256", Header("ES256"), Claims(aud: "[\"other\"]")),
            "expired" => SignA("ES256", Header("ES256"), Claims(exp: (NowSeconds - 120).ToString(System.Globalization.CultureInfo.InvariantCulture))),
            "nbf-in-future" => SignA("ES256", Header("ES256"), Claims(nbf: (NowSeconds + 120).ToString(System.Globalization.CultureInfo.InvariantCulture))),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
        };

        JwtSvidValidationResult result = new JwtSvidValidator(AllBundles, ["svc"], Clock()).Validate(token);

        Assert.Equal(expected, result.ErrorKind);
        Assert.Equal(expected == JwtSvidErrorKind.None, result.IsValid);
        if (expected != JwtSvidErrorKind.None)
        {
            Assert.Null(result.Svid);
            Assert.DoesNotContain(token, result.Error, StringComparison.Ordinal);
            JwtSvidException e = Assert.Throws<JwtSvidException>(() => JwtSvid.ParseAndValidate(token, AllBundles, ["svc"], Clock()));
            Assert.Equal(expected, e.ErrorKind);
            Assert.Equal(result.Error, e.Message);
        }
    }
}

using System.Text;
using System.Text.Json;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Core.Tests.Robustness;

/// <summary>Issue 8 §2: every parser fails with its documented exception type, Try methods never throw, and what Parse accepts serializes.</summary>
public sealed class ParserFailureTypeTests
{
    private static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId Web = SpiffeId.Parse("spiffe://example.org/web");

    [Fact]
    public void X509SvidParse_KeyNamesUnknownCurve_ThrowsX509SvidExceptionForPrivateKey()
    {
        using var ca = TestCertificateAuthority.Create(Domain);
        TestX509SvidMaterial material = MalformedInputs.UnknownCurveMaterial(ca, Web, out byte[] key);

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.Parse(material.ChainDer, key));

        Assert.Equal(X509SvidErrorKind.PrivateKey, e.ErrorKind);
    }

    [Fact]
    public void X509SvidParse_KeyUsageWithTrailingData_ThrowsX509SvidExceptionMalformed()
    {
        using var ca = TestCertificateAuthority.Create(Domain);
        TestX509SvidMaterial material = MalformedInputs.KeyUsageTrailingDataMaterial(ca, Web);

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8));

        Assert.Equal(X509SvidErrorKind.Malformed, e.ErrorKind);
        Assert.Contains("malformed extension", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void X509SvidValidator_PeerLeafKeyUsageWithTrailingData_IsRejectedAsMalformed()
    {
        using var ca = TestCertificateAuthority.Create(Domain);
        TestX509SvidMaterial material = MalformedInputs.KeyUsageTrailingDataMaterial(ca, Web);
        using X509Bundle bundle = ca.CreateX509Bundle();
        System.Security.Cryptography.X509Certificates.X509Certificate2[] chain = material.LoadCertificates();
        try
        {
            X509SvidValidationResult result = new X509SvidValidator(bundle).Validate(chain);

            Assert.False(result.IsValid);
            Assert.Equal(X509SvidErrorKind.Malformed, result.ErrorKind);
        }
        finally
        {
            foreach (var c in chain)
            {
                c.Dispose();
            }
        }
    }

    [Fact]
    public void X509SvidParse_KeyUsageSingleBitString_StillAccepted()
    {
        using var ca = TestCertificateAuthority.Create(Domain);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(Web, new TestX509SvidOptions
        {
            KeyUsage = null,
            AdditionalExtensions = [new System.Security.Cryptography.X509Certificates.X509Extension("2.5.29.15", [0x03, 0x02, 0x07, 0x80], critical: true)],
        });

        using X509Svid svid = X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8);

        Assert.Equal(Web, svid.Id);
    }

    public static TheoryData<string> BadJwks => new() { "invalid-utf8-kid", "lone-surrogate-kty", "lone-surrogate-member" };

    private static byte[] Jwks(string name) => name switch
    {
        "invalid-utf8-kid" => MalformedInputs.JwksWithInvalidUtf8Kid(),
        "lone-surrogate-kty" => MalformedInputs.JwksWithLoneSurrogateKty,
        _ => MalformedInputs.LoneSurrogateMemberName,
    };

    [Theory]
    [MemberData(nameof(BadJwks))]
    public void JwtBundleParse_StringNotValidUnicode_ThrowsFormatException(string name)
    {
        FormatException e = Assert.Throws<FormatException>(() => JwtBundle.Parse(Domain, Jwks(name)));

        Assert.Contains("not valid Unicode", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadJwks))]
    public void SpiffeBundleParse_StringNotValidUnicode_ThrowsFormatException(string name)
    {
        byte[] json = Jwks(name);
        Assert.Throws<FormatException>(() => SpiffeBundle.Parse(Domain, json));
    }

    [Fact]
    public void SpiffeBundleParse_X5cEcPointPrefix07_ThrowsFormatException()
    {
        string json = "{\"keys\":[" + MalformedInputs.X509Jwk(MalformedInputs.CaWithEcPointPrefix07()) + "]}";

        FormatException e = Assert.Throws<FormatException>(() => SpiffeBundle.Parse(Domain, json));

        Assert.Contains("public key that cannot be read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SpiffeBundleToJson_X5cCaWithMalformedKeyUsage_RoundTrips()
    {
        // The chain builder judges a CA's Key Usage; the JWK only needs its key, which is fine.
        using var caKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=KU CA", caKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509Extension("2.5.29.15", MalformedInputs.KeyUsageWithTrailingData, true));
        byte[] der;
        using (var ca = request.Create(request.SubjectName, System.Security.Cryptography.X509Certificates.X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1]))
        {
            der = ca.RawData;
        }

        using SpiffeBundle parsed = SpiffeBundle.Parse(Domain, "{\"keys\":[" + MalformedInputs.X509Jwk(der) + "]}");
        using SpiffeBundle again = SpiffeBundle.Parse(Domain, parsed.ToJson());

        Assert.Equal(der, again.X509Authorities[0].RawData);
    }

    public static TheoryData<string> BadTokens => new() { "lone-surrogate-sub", "invalid-utf8-claim", "lone-surrogate-kid" };

    private static string Token(string name) => name switch
    {
        "lone-surrogate-sub" => MalformedInputs.Token(MalformedInputs.ClaimsWithLoneSurrogateSubject),
        "invalid-utf8-claim" => MalformedInputs.Token(MalformedInputs.ClaimsWithInvalidUtf8),
        _ => MalformedInputs.Token(Encoding.ASCII.GetBytes("{\"sub\":\"spiffe://example.org/web\",\"aud\":\"svc\",\"exp\":4102444800}"), "{\"alg\":\"ES256\",\"kid\":\"\\udfff\"}"),
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public void JwtSvidParseInsecure_StringNotValidUnicode_ThrowsJwtSvidException(string name)
    {
        JwtSvidException e = Assert.Throws<JwtSvidException>(() => JwtSvid.ParseInsecure(Token(name), ["svc"]));

        Assert.Contains("not valid Unicode", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public void JwtSvidParseAndValidate_StringNotValidUnicode_ThrowsJwtSvidException(string name) =>
        Assert.Throws<JwtSvidException>(() => JwtSvid.ParseAndValidate(Token(name), new JwtBundleSet([]), ["svc"]));

    [Theory]
    [MemberData(nameof(BadTokens))]
    public void JwtSvidValidatorValidate_StringNotValidUnicode_InvalidMalformedWithReason(string name)
    {
        var validator = new JwtSvidValidator(new JwtBundleSet([]), ["svc"]);

        JwtSvidValidationResult result = validator.Validate(Token(name));

        Assert.False(result.IsValid);
        Assert.Null(result.Svid);
        Assert.Equal(JwtSvidErrorKind.Malformed, result.ErrorKind);
        Assert.Contains("not valid Unicode", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void JwtSvidParseInsecure_EscapedButValidClaims_StillAccepted()
    {
        // "\u0073" is 's' and "\ud83d\ude00" a properly paired surrogate: escapes as such are fine.
        byte[] claims = Encoding.ASCII.GetBytes("{\"sub\":\"\\u0073piffe://example.org/web\",\"aud\":\"svc\",\"exp\":4102444800,\"note\":\"\\ud83d\\ude00\"}");

        JwtSvid svid = JwtSvid.ParseInsecure(MalformedInputs.Token(claims), ["svc"]);

        Assert.Equal(Web, svid.Id);
        Assert.Equal("\U0001F600", svid.Claims["note"].GetString());
    }

    [Theory]
    [InlineData("\"\\ud800\"")]
    [InlineData("\"spiffe://example.org/\\udc00\"")]
    public void SpiffeIdJsonConverter_StringNotValidUnicode_ThrowsJsonException(string json)
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<SpiffeId>(json));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TrustDomain>(json));
    }
}

using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Testing;
using static Spiffe.Core.Tests.Bundles.BundleTestData;
using static Spiffe.Core.Tests.Jwt.JwtTestKeys;

namespace Spiffe.Core.Tests.Bundles;

public class SpiffeBundleTests
{
    private static string Bundle(string keys, string extra = "") => "{\"keys\":[" + keys + "]" + extra + "}";

    private static string JwtKey(string kid = "j1") =>
        "{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"" + kid + "\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}";

    // ---- Rules 62, 63 ----

    [Theory]
    [InlineData("{\"keys\":[]}", 0, 0)]
    [InlineData("{\"keys\":[],\"foo\":1,\"bar\":{\"x\":[1]}}", 0, 0)]
    [InlineData("{\"spiffe_sequence\":1,\"keys\":[]}", 0, 0)]
    public void Parse_KeysPresentUnknownMembersIgnored_Accepted(string json, int x509, int jwt)
    {
        using SpiffeBundle bundle = SpiffeBundle.Parse(Domain, json);

        Assert.Equal(x509, bundle.X509Authorities.Count);
        Assert.Equal(jwt, bundle.JwtAuthorities.Count);
    }

    [Theory]
    [InlineData("{}", "no \"keys\"")]
    [InlineData("{\"spiffe_sequence\":1}", "no \"keys\"")]
    [InlineData("{\"keys\":\"\"}", "not an array")]
    [InlineData("null", "not a JSON object")]
    [InlineData("{\"keys\":[],\"keys\":[]}", "not valid JSON")]
    public void Parse_KeysMissingOrMalformed_Throws(string json, string fragment)
    {
        FormatException e = Assert.Throws<FormatException>(() => SpiffeBundle.Parse(Domain, json));

        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    // ---- Rules 64, 65: spiffe_sequence, spiffe_refresh_hint ----

    [Theory]
    [InlineData("", null)]
    [InlineData(",\"spiffe_sequence\":0", 0L)]
    [InlineData(",\"spiffe_sequence\":42", 42L)]
    [InlineData(",\"spiffe_sequence\":9223372036854775807", long.MaxValue)]
    public void Parse_IntegerSequence_Read(string member, long? expected)
    {
        using SpiffeBundle bundle = SpiffeBundle.Parse(Domain, Bundle("", member));

        Assert.Equal(expected, bundle.Sequence);
    }

    [Theory]
    [InlineData(",\"spiffe_sequence\":1.5")]
    [InlineData(",\"spiffe_sequence\":\"7\"")]
    [InlineData(",\"spiffe_sequence\":1e3")]
    [InlineData(",\"spiffe_sequence\":1.0")]
    [InlineData(",\"spiffe_sequence\":null")]
    [InlineData(",\"spiffe_sequence\":true")]
    [InlineData(",\"spiffe_sequence\":9223372036854775808")]
    [InlineData(",\"spiffe_sequence\":1,\"spiffe_sequence\":2")]
    public void Parse_NonIntegerSequence_Throws(string member)
    {
        Assert.Throws<FormatException>(() => SpiffeBundle.Parse(Domain, Bundle("", member)));
    }

    [Theory]
    [InlineData("", null)]
    [InlineData(",\"spiffe_refresh_hint\":300", 300)]
    [InlineData(",\"spiffe_refresh_hint\":0", 0)]
    public void Parse_IntegerRefreshHint_ReadAsSeconds(string member, int? seconds)
    {
        using SpiffeBundle bundle = SpiffeBundle.Parse(Domain, Bundle("", member));

        Assert.Equal(seconds is null ? null : TimeSpan.FromSeconds(seconds.Value), bundle.RefreshHint);
    }

    [Theory]
    [InlineData(",\"spiffe_refresh_hint\":\"300\"")]
    [InlineData(",\"spiffe_refresh_hint\":1.5")]
    [InlineData(",\"spiffe_refresh_hint\":-1")]
    [InlineData(",\"spiffe_refresh_hint\":99999999999")]
    [InlineData(",\"spiffe_refresh_hint\":[300]")]
    public void Parse_InvalidRefreshHint_Throws(string member)
    {
        FormatException e = Assert.Throws<FormatException>(() => SpiffeBundle.Parse(Domain, Bundle("", member)));

        Assert.Contains("spiffe_refresh_hint", e.Message, StringComparison.Ordinal);
    }

    // ---- Rules 66, 67, 69, 71: which keys count ----

    [Fact]
    public void Parse_MixedKeys_X509AndJwtAuthoritiesSeparated()
    {
        string keys = string.Join(",", X509Jwk(RootA), JwtKey("j1"), X509Jwk(RootB), "{\"kty\":\"XYZ\",\"use\":\"x509-svid\",\"x5c\":[\"" + Base64(RootRsa) + "\"]}", "{\"kty\":\"EC\",\"use\":\"sig\",\"x5c\":[\"" + Base64(RootRsa) + "\"]}");

        using SpiffeBundle bundle = SpiffeBundle.Parse(Domain, Bundle(keys, ",\"spiffe_sequence\":3,\"spiffe_refresh_hint\":60"));

        Assert.Equal([RootA.RawData, RootB.RawData], bundle.X509Authorities.Select(c => c.RawData));
        Assert.Equal("j1", Assert.Single(bundle.JwtAuthorities).KeyId);
        Assert.Equal(3, bundle.Sequence);
        Assert.Equal(TimeSpan.FromMinutes(1), bundle.RefreshHint);
    }

    [Theory]
    [InlineData("no-x5c", 0)]
    [InlineData("empty-x5c", 0)]
    [InlineData("two-x5c", 1)]
    [InlineData("upper-use", 0)]
    [InlineData("no-use", 0)]
    [InlineData("unknown-kty", 0)]
    [InlineData("one-x5c", 1)]
    public void Parse_X509SvidEntry_FirstX5cOnlyOthersIgnored(string name, int expected)
    {
        string entry = name switch
        {
            "no-x5c" => "{\"kty\":\"EC\",\"use\":\"x509-svid\"}",
            "empty-x5c" => "{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[]}",
            "two-x5c" => X509Jwk(RootA, RootB),
            "upper-use" => X509Jwk(RootA).Replace("x509-svid", "X509-SVID", StringComparison.Ordinal),
            "no-use" => X509Jwk(RootA).Replace("\"use\":\"x509-svid\",", "", StringComparison.Ordinal),
            "unknown-kty" => X509Jwk(RootA).Replace("\"EC\"", "\"XYZ\"", StringComparison.Ordinal),
            _ => X509Jwk(RootA),
        };

        using SpiffeBundle bundle = SpiffeBundle.Parse(Domain, Bundle(entry + "," + X509Jwk(RootRsa)));

        Assert.Equal(expected + 1, bundle.X509Authorities.Count);
        Assert.Equal(RootRsa.RawData, bundle.X509Authorities[^1].RawData);
        if (expected == 1)
        {
            Assert.Equal(RootA.RawData, bundle.X509Authorities[0].RawData);
        }
    }

    [Theory]
    [InlineData("{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":\"MIIB\"}", "not an array")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"not base64!\"]}", "not base64")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"AAAA\"]}", "not an X.509 certificate")]
    [InlineData("{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[7]}", "not a string")]
    public void Parse_MalformedX5c_Throws(string entry, string fragment)
    {
        FormatException e = Assert.Throws<FormatException>(() => SpiffeBundle.Parse(Domain, Bundle(entry)));

        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    // ---- Rules 68, 73: a trust domain without usable keys authenticates nothing ----

    [Fact]
    public void Parse_OnlyX509Keys_JwtSvidsOfThatTrustDomainRejected()
    {
        using SpiffeBundle bundle = SpiffeBundle.Parse(DomainA, Bundle(X509Jwk(RootA)));

        Assert.Empty(bundle.JwtAuthorities);
        Assert.Equal(JwtSvidErrorKind.UnknownKey, new JwtSvidValidator(bundle, ["svc"], Clock()).Validate(ValidA()).ErrorKind);
    }

    [Fact]
    public void Validate_SpiffeBundleAsSource_OnlyJwtSvidKeysVerify()
    {
        // A's "x509-key" is published as x509-svid: its tokens fail, jwt-svid keys work.
        string jwks = System.Text.Encoding.UTF8.GetString(A.CreateJwks());
        using SpiffeBundle bundle = SpiffeBundle.Parse(DomainA, jwks);
        var validator = new JwtSvidValidator(bundle, ["svc"], Clock());

        Assert.True(validator.Validate(ValidA("RS384")).IsValid);
        Assert.False(validator.Validate(A.Sign("x509-key", Header("ES256", kid: null), Claims())).IsValid);
    }

    // ---- Rule 70 and serialization round trip ----

    [Fact]
    public void ToJson_ParsedAgain_SameContent()
    {
        using var authority = new TestJwtAuthority(Domain);
        authority.AddKey("ES384", "j1");
        authority.AddKey("RS256", "j2");
        JwtBundle jwt = authority.CreateJwtBundle();
        using var bundle = new SpiffeBundle(Domain, [X509CertificateLoader.LoadCertificate(RootA.RawData), X509CertificateLoader.LoadCertificate(RootRsa.RawData)], jwt.JwtAuthorities, 7, TimeSpan.FromMinutes(5));

        string json = bundle.ToJson();
        using SpiffeBundle again = SpiffeBundle.Parse(Domain, json);

        Assert.Equal(bundle.X509Authorities.Select(c => c.RawData), again.X509Authorities.Select(c => c.RawData));
        Assert.Equal(["j1", "j2"], again.JwtAuthorities.Select(a => a.KeyId));
        Assert.Equal(jwt.JwtAuthorities[1].ExportSubjectPublicKeyInfo(), again.JwtAuthorities[1].ExportSubjectPublicKeyInfo());
        Assert.Equal(7, again.Sequence);
        Assert.Equal(TimeSpan.FromMinutes(5), again.RefreshHint);
        Assert.Equal(json, again.ToJson());
    }

    [Fact]
    public void ToJson_X509AndJwtEntries_FollowPublisherRules()
    {
        using var authority = new TestJwtAuthority(Domain);
        authority.AddKey("ES256", "j1");
        using var bundle = new SpiffeBundle(Domain, [X509CertificateLoader.LoadCertificate(RootA.RawData)], authority.CreateJwtBundle().JwtAuthorities);

        using JsonDocument document = JsonDocument.Parse(bundle.ToJson());
        JsonElement[] keys = [.. document.RootElement.GetProperty("keys").EnumerateArray()];

        Assert.Equal(2, keys.Length);
        Assert.Equal("x509-svid", keys[0].GetProperty("use").GetString());
        Assert.False(keys[0].TryGetProperty("kid", out _));
        Assert.Equal(Base64(RootA), Assert.Single(keys[0].GetProperty("x5c").EnumerateArray()).GetString());
        Assert.Equal("jwt-svid", keys[1].GetProperty("use").GetString());
        Assert.Equal("j1", keys[1].GetProperty("kid").GetString());
        Assert.False(document.RootElement.TryGetProperty("spiffe_sequence", out _));
    }

    // ---- Sources and conversions ----

    [Fact]
    public void GetBundles_OwnAndOtherTrustDomain_PartsOrNull()
    {
        using SpiffeBundle bundle = SpiffeBundle.Parse(Domain, Bundle(X509Jwk(RootA) + "," + JwtKey()));
        TrustDomain other = TrustDomain.Parse("other.org");

        X509Bundle x509 = Assert.IsType<X509Bundle>(bundle.GetX509Bundle(Domain));
        JwtBundle jwt = Assert.IsType<JwtBundle>(bundle.GetJwtBundle(Domain));

        Assert.Equal(Domain, x509.TrustDomain);
        Assert.Equal(RootA.RawData, Assert.Single(x509.X509Authorities).RawData);
        Assert.Equal("j1", Assert.Single(jwt.JwtAuthorities).KeyId);
        Assert.Null(bundle.GetX509Bundle(other));
        Assert.Null(bundle.GetJwtBundle(other));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1.5)]
    public void Constructor_InvalidRefreshHint_Throws(double seconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpiffeBundle(Domain, [], [], refreshHint: TimeSpan.FromSeconds(seconds)));
    }
}

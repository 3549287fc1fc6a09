using Microsoft.Extensions.Time.Testing;
using Spiffe.Jwt;
using Spiffe.Testing;
using static Spiffe.Core.Tests.Jwt.JwtTestKeys;

namespace Spiffe.Core.Tests.Jwt;

public class JwtSvidParseInsecureTests
{
    [Theory]
    [InlineData("signed-by-unknown-key")]
    [InlineData("trust-domain-without-bundle")]
    [InlineData("flipped-signature")]
    [InlineData("no-kid")]
    public void ParseInsecure_SignatureNotCheckable_AcceptedWithoutVerification(string name)
    {
        using var stranger = new TestJwtAuthority(TrustDomain.Parse("nowhere.org"), Clock());
        stranger.AddKey("ES256", "s");
        string token = name switch
        {
            "signed-by-unknown-key" => stranger.MintJwtSvid(SpiffeId.Parse("spiffe://example.org/web"), ["svc"]),
            "trust-domain-without-bundle" => stranger.MintJwtSvid(SpiffeId.Parse("spiffe://nowhere.org/web"), ["svc"]),
            "flipped-signature" => TestJwtAuthority.FlipSignatureBit(ValidA()),
            _ => SignA("ES256", Header("ES256", kid: null), Claims()),
        };

        JwtSvid svid = JwtSvid.ParseInsecure(token, ["svc"], Clock());

        Assert.Equal(token, svid.Token);
        Assert.Equal(["svc"], svid.Audience);
    }

    [Theory]
    [InlineData("two-parts", "has 2 parts")]
    [InlineData("alg-none", "\"none\" is not allowed")]
    [InlineData("alg-HS256", "\"HS256\" is not allowed")]
    [InlineData("extra-header", "has \"jku\"")]
    [InlineData("typ", "\"typ\" is \"at+jwt\"")]
    [InlineData("no-sub", "no \"sub\"")]
    [InlineData("bad-sub", "not a valid SPIFFE ID")]
    [InlineData("other-aud", "none of the expected audiences")]
    [InlineData("no-exp", "no \"exp\"")]
    [InlineData("expired", "expired at")]
    [InlineData("not-yet-valid", "not valid before")]
    public void ParseInsecure_MalformedOrNotForUs_Rejected(string name, string fragment)
    {
        string token = name switch
        {
            "two-parts" => string.Join('.', ValidA().Split('.')[..2]),
            "alg-none" => TestJwtAuthority.Encode(Object(("alg", "\"none\""))) + "." + TestJwtAuthority.Encode(Claims()) + ".AAAA",
            "alg-HS256" => TestJwtAuthority.SignHmac([1, 2, 3], "HS256", Header("HS256"), Claims()),
            "extra-header" => SignA("ES256", Header("ES256")[..^1] + ",\"jku\":\"https://x\"}", Claims()),
            "typ" => SignA("ES256", Header("ES256", typ: "\"at+jwt\""), Claims()),
            "no-sub" => SignA("ES256", Header("ES256"), Claims(sub: null)),
            "bad-sub" => SignA("ES256", Header("ES256"), Claims(sub: "\"spiffe://example.org/a/\"")),
            "other-aud" => SignA("ES256", Header("ES256"), Claims(aud: "\"other\"")),
            "no-exp" => SignA("ES256", Header("ES256"), Claims(exp: null)),
            "expired" => SignA("ES256", Header("ES256"), Claims(exp: (NowSeconds - 120).ToString(System.Globalization.CultureInfo.InvariantCulture))),
            _ => SignA("ES256", Header("ES256"), Claims(nbf: (NowSeconds + 120).ToString(System.Globalization.CultureInfo.InvariantCulture))),
        };

        JwtSvidException e = Assert.Throws<JwtSvidException>(() => JwtSvid.ParseInsecure(token, ["svc"], Clock()));

        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseInsecure_ClockAdvancedPastExpiryPlusDefaultLeeway_Rejected()
    {
        var clock = new FakeTimeProvider(Now);
        string token = ValidA();
        Assert.NotNull(JwtSvid.ParseInsecure(token, ["svc"], clock));

        clock.Advance(TimeSpan.FromMinutes(5) + JwtSvidValidator.DefaultLeeway);

        Assert.Throws<JwtSvidException>(() => JwtSvid.ParseInsecure(token, ["svc"], clock));
    }
}

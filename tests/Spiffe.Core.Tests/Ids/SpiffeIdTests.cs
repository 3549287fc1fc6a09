using System.Text.Json;

namespace Spiffe.Core.Tests.Ids;

/// <summary>SPIFFE-RULES.md A1 (rules 1-19): every syntax rule, accepted and rejected.</summary>
public sealed class SpiffeIdTests
{
    public static TheoryData<string, string, int> Rejected => new()
    {
        // rule, input, expected error fragment is checked by the rule column in the next theory
        { "A1.1 scheme", "https://example.org/a", 1 },
        { "A1.1 scheme", "spiffe:/example.org/a", 1 },
        { "A1.1 scheme", "example.org/a", 1 },
        { "A1.1 scheme", "SPIFFE://example.org/a", 1 },
        { "A1.1 scheme", "Spiffe://example.org/a", 1 },
        { "A1.1 scheme", "", 0 },
        { "A1.2 trust domain", "spiffe:///a", 2 },
        { "A1.2 trust domain", "spiffe://", 2 },
        { "A1.2 trust domain", "spiffe:", 1 },
        { "A1.3 query", "spiffe://example.org/a?x=1", 3 },
        { "A1.3 query", "spiffe://example.org?x", 3 },
        { "A1.3 query", "spiffe://example.org/a?", 3 },
        { "A1.4 fragment", "spiffe://example.org/a#f", 4 },
        { "A1.4 fragment", "spiffe://example.org/a#", 4 },
        { "A1.4 fragment", "spiffe://example.org#", 4 },
        { "A1.5 userinfo", "spiffe://u@example.org/a", 5 },
        { "A1.5 userinfo", "spiffe://u:p@example.org/a", 5 },
        { "A1.5 userinfo", "spiffe://@example.org/a", 5 },
        { "A1.6 port", "spiffe://example.org:8080/a", 6 },
        { "A1.6 port", "spiffe://example.org:/a", 6 },
        { "A1.7 lowercase host", "spiffe://Example.org/a", 7 },
        { "A1.7 lowercase host", "spiffe://EXAMPLE.ORG/a", 7 },
        { "A1.8 host chars", "spiffe://t$d/a", 8 },
        { "A1.8 host chars", "spiffe://t d/a", 8 },
        { "A1.8 host chars", "spiffe://tü.org/a", 8 },
        { "A1.8 host chars", "spiffe://[::1]/a", 8 },
        { "A1.8 host chars", "spiffe://a+b/a", 8 },
        { "A1.9 host percent", "spiffe://ex%61mple.org/a", 9 },
        { "A1.11 path percent", "spiffe://example.org/%41", 11 },
        { "A1.11 path percent", "spiffe://example.org/a%2Fb", 11 },
        { "A1.12 empty segment", "spiffe://example.org/a//b", 12 },
        { "A1.12 empty segment", "spiffe://example.org//a", 12 },
        { "A1.13 dot segment", "spiffe://example.org/a/./b", 13 },
        { "A1.13 dot segment", "spiffe://example.org/a/../b", 13 },
        { "A1.13 dot segment", "spiffe://example.org/.", 13 },
        { "A1.13 dot segment", "spiffe://example.org/..", 13 },
        { "A1.14 trailing slash", "spiffe://example.org/a/", 14 },
        { "A1.14 trailing slash", "spiffe://example.org/", 14 },
        { "A1.15 path chars", "spiffe://example.org/a!b", 15 },
        { "A1.15 path chars", "spiffe://example.org/a b", 15 },
        { "A1.15 path chars", "spiffe://example.org/a~b", 15 },
        { "A1.15 path chars", "spiffe://example.org/a:b", 15 },
        { "A1.15 path chars", "spiffe://example.org/a@b", 15 },
        { "A1.15 path chars", "spiffe://example.org/a+b", 15 },
        { "A1.15 path chars", "spiffe://example.org/ä", 15 },
        { "A1.17 trust domain length", "spiffe://" + new string('a', 256) + "/x", 17 },
    };

    public static TheoryData<string, string> Accepted => new()
    {
        { "A1.1 reference", "spiffe://example.org/ns/prod/sa/web" },
        { "A1.8 host chars", "spiffe://td_1.example-2.org/x" },
        { "A1.10 IPv4-like kept verbatim", "spiffe://192.168.1.1/x" },
        { "A1.10 not an IP", "spiffe://999.1.1.1/x" },
        { "A1.10 short dotted", "spiffe://1.2.3/x" },
        { "A1.10 localhost", "spiffe://localhost/x" },
        { "A1.13 dots inside segments", "spiffe://example.org/..x" },
        { "A1.13 dots inside segments", "spiffe://example.org/x.." },
        { "A1.13 dots inside segments", "spiffe://example.org/.hidden" },
        { "A1.14 trust domain ID", "spiffe://example.org" },
        { "A1.15 mixed case path", "spiffe://example.org/Path.With-Mixed_Case" },
        { "A1.17 255-byte trust domain", "spiffe://" + new string('a', 255) + "/x" },
        { "A1.19 trust domain ID", "spiffe://example.org" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Parse_InvalidId_ThrowsFormatExceptionNamingTheRule(string rule, string input, int ruleNumber)
    {
        FormatException e = Assert.Throws<FormatException>(() => SpiffeId.Parse(input));
        Assert.Contains(ExpectedFragment(ruleNumber), e.Message, StringComparison.Ordinal);
        Assert.False(SpiffeId.TryParse(input, out SpiffeId? id), rule);
        Assert.Null(id);
        Assert.False(SpiffeId.TryParse(input.AsSpan(), out _), rule);
        Assert.Throws<FormatException>(() => SpiffeId.Parse(input.AsSpan()));
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Parse_ValidId_RoundTripsUnchanged(string rule, string input)
    {
        SpiffeId id = SpiffeId.Parse(input);
        Assert.Equal(input, id.ToString());
        Assert.True(SpiffeId.TryParse(input, out SpiffeId? viaTry), rule);
        Assert.Equal(id, viaTry);
        Assert.Equal(id, SpiffeId.Parse(input.AsSpan()));
        Assert.Equal(input, id.TrustDomain.Id + id.Path);
    }

    private static string ExpectedFragment(int rule) => rule switch
    {
        0 => "it is empty",
        1 => "scheme must be exactly 'spiffe://'",
        2 => "trust domain is missing",
        3 => "a query ('?'",
        4 => "a fragment ('#'",
        5 => "userinfo ('@'",
        6 => "a port (':'",
        7 => "uppercase",
        8 => "trust domain contains",
        9 => "percent-encoding ('%'",
        11 => "percent-encoding ('%'",
        12 => "empty segment",
        13 => "'.' or '..' segment",
        14 => "must not end with '/'",
        15 => "path segment contains",
        17 => "longer than 255 bytes",
        _ => throw new ArgumentOutOfRangeException(nameof(rule)),
    };

    [Fact]
    public void Parse_ForbiddenPathCharacter_MessageNamesCharacterIndexAndAllowedSet()
    {
        FormatException e = Assert.Throws<FormatException>(() => SpiffeId.Parse("spiffe://example.org/a!b"));
        Assert.Equal(
            "Invalid SPIFFE ID \"spiffe://example.org/a!b\": path segment contains '!' at index 22; allowed: a-z A-Z 0-9 . - _.",
            e.Message);
    }

    [Fact]
    public void Parse_Exactly2048Bytes_IsSupportedAndRoundTrips()
    {
        string prefix = "spiffe://example.org/";
        string input = prefix + new string('a', 2048 - prefix.Length);
        Assert.Equal(2048, input.Length);
        Assert.Equal(input, SpiffeId.Parse(input).ToString());
    }

    [Fact]
    public void FromPath_Over2048Bytes_IsRefused()
    {
        var td = TrustDomain.Parse("example.org");
        string path2048 = "/" + new string('a', 2048 - "spiffe://example.org/".Length);
        Assert.Equal(2048, SpiffeId.FromPath(td, path2048).ToString().Length);
        FormatException e = Assert.Throws<FormatException>(() => SpiffeId.FromPath(td, path2048 + "a"));
        Assert.Contains("longer than 2048 bytes", e.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => SpiffeId.FromSegments(td, new string('b', 2048)));
    }

    [Fact]
    public void Equality_PathIsCaseSensitive()
    {
        SpiffeId upper = SpiffeId.Parse("spiffe://example.org/A");
        SpiffeId lower = SpiffeId.Parse("spiffe://example.org/a");
        Assert.NotEqual(upper, lower);
        Assert.False(upper == lower);
        Assert.True(upper != lower);
        Assert.True(upper.MemberOf(TrustDomain.Parse("example.org")));
        var set = new HashSet<SpiffeId> { upper };
        Assert.DoesNotContain(lower, set);
        Assert.Contains(SpiffeId.Parse("spiffe://example.org/A"), set);
    }

    [Fact]
    public void Equality_SameText_EqualWithSameHash()
    {
        SpiffeId a = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web");
        SpiffeId b = SpiffeId.FromSegments(TrustDomain.Parse("example.org"), "ns", "prod", "sa", "web");
        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.Equals(null));
        Assert.False(a == null);
    }

    [Theory]
    [InlineData("spiffe://example.org/x", "example.org", true)]
    [InlineData("spiffe://example.org", "example.org", true)]
    [InlineData("spiffe://example.org.evil/x", "example.org", false)]
    [InlineData("spiffe://evil.example.org/x", "example.org", false)]
    [InlineData("spiffe://example.or/x", "example.org", false)]
    public void MemberOf_ComparesWholeTrustDomain(string id, string trustDomain, bool expected) =>
        Assert.Equal(expected, SpiffeId.Parse(id).MemberOf(TrustDomain.Parse(trustDomain)));

    [Fact]
    public void Components_ExposeTrustDomainAndPath()
    {
        SpiffeId id = SpiffeId.Parse("spiffe://example.org/ns/prod");
        Assert.Equal("example.org", id.TrustDomain.Name);
        Assert.Equal("/ns/prod", id.Path);
        Assert.False(id.IsTrustDomainId);
        SpiffeId tdId = SpiffeId.Parse("spiffe://example.org");
        Assert.True(tdId.IsTrustDomainId);
        Assert.Equal(string.Empty, tdId.Path);
        Assert.Equal(tdId, tdId.TrustDomain.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/a")]
    [InlineData("/ns/prod/sa/web")]
    public void FromPath_ValidPath_Builds(string path) =>
        Assert.Equal("spiffe://example.org" + path, SpiffeId.FromPath(TrustDomain.Parse("example.org"), path).ToString());

    [Theory]
    [InlineData("a", "must be empty or start with '/'")]
    [InlineData("/a/", "must not end with '/'")]
    [InlineData("/a//b", "empty segment")]
    [InlineData("/a/../b", "'.' or '..' segment")]
    [InlineData("/a%2F", "percent-encoding")]
    [InlineData("/a?b", "a query")]
    [InlineData("/a#b", "a fragment")]
    [InlineData("/a b", "path segment contains ' '")]
    public void FromPath_InvalidPath_Throws(string path, string fragment)
    {
        FormatException e = Assert.Throws<FormatException>(() => SpiffeId.FromPath(TrustDomain.Parse("example.org"), path));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a!")]
    [InlineData("%41")]
    public void FromSegments_InvalidSegment_Throws(string segment) =>
        Assert.Throws<FormatException>(() => SpiffeId.FromSegments(TrustDomain.Parse("example.org"), "ok", segment));

    [Fact]
    public void FromSegments_NoSegments_GivesTrustDomainId() =>
        Assert.Equal("spiffe://example.org", SpiffeId.FromSegments(TrustDomain.Parse("example.org")).ToString());

    [Fact]
    public void Json_RoundTripsAsString()
    {
        var value = new Holder(SpiffeId.Parse("spiffe://example.org/web"), TrustDomain.Parse("example.org"));
        string json = JsonSerializer.Serialize(value);
        Assert.Equal("{\"Id\":\"spiffe://example.org/web\",\"Domain\":\"example.org\"}", json);
        Holder back = JsonSerializer.Deserialize<Holder>(json)!;
        Assert.Equal(value.Id, back.Id);
        Assert.Equal(value.Domain, back.Domain);
    }

    [Theory]
    [InlineData("{\"Id\":\"spiffe://example.org/a/\",\"Domain\":\"example.org\"}")]
    [InlineData("{\"Id\":42,\"Domain\":\"example.org\"}")]
    [InlineData("{\"Id\":\"spiffe://example.org/a\",\"Domain\":\"Example.org\"}")]
    public void Json_InvalidValue_ThrowsJsonException(string json) =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Holder>(json));

    [Fact]
    public void ParsableInterface_WorksGenerically()
    {
        Assert.Equal("spiffe://example.org/x", ParseGeneric<SpiffeId>("spiffe://example.org/x").ToString());
        Assert.Equal("example.org", ParseGeneric<TrustDomain>("example.org").ToString());
    }

    private static T ParseGeneric<T>(string s)
        where T : ISpanParsable<T> => T.Parse(s.AsSpan(), null);

    private sealed record Holder(SpiffeId Id, TrustDomain Domain);
}

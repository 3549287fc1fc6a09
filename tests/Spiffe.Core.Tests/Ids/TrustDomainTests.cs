namespace Spiffe.Core.Tests.Ids;

public sealed class TrustDomainTests
{
    [Theory]
    [InlineData("example.org", "example.org")]
    [InlineData("spiffe://example.org", "example.org")]
    [InlineData("td_1.example-2.org", "td_1.example-2.org")]
    [InlineData("192.168.1.1", "192.168.1.1")]
    [InlineData("localhost", "localhost")]
    public void Parse_NameOrTrustDomainId_Accepted(string input, string name)
    {
        TrustDomain td = TrustDomain.Parse(input);
        Assert.Equal(name, td.Name);
        Assert.Equal(name, td.ToString());
        Assert.Equal("spiffe://" + name, td.Id.ToString());
        Assert.True(TrustDomain.TryParse(input, out TrustDomain? viaTry));
        Assert.Equal(td, viaTry);
        Assert.Equal(td, TrustDomain.Parse(input.AsSpan()));
    }

    [Theory]
    [InlineData("", "trust domain is missing")]
    [InlineData("example.org/a", "has no path")]
    [InlineData("spiffe://example.org/a", "has no path")]
    [InlineData("Example.org", "uppercase")]
    [InlineData("exa mple.org", "trust domain contains ' '")]
    [InlineData("example.org:80", "a port")]
    [InlineData("u@example.org", "userinfo")]
    [InlineData("ex%61mple.org", "percent-encoding")]
    [InlineData("https://example.org", "scheme must be exactly")]
    [InlineData("spiffe://", "trust domain is missing")]
    public void Parse_Invalid_ThrowsWithReason(string input, string fragment)
    {
        FormatException e = Assert.Throws<FormatException>(() => TrustDomain.Parse(input));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.False(TrustDomain.TryParse(input, out TrustDomain? td));
        Assert.Null(td);
    }

    [Fact]
    public void Parse_LengthLimit_255AcceptedAnd256Rejected()
    {
        Assert.Equal(255, TrustDomain.Parse(new string('a', 255)).Name.Length);
        FormatException e = Assert.Throws<FormatException>(() => TrustDomain.Parse(new string('a', 256)));
        Assert.Contains("longer than 255 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse() => Assert.False(TrustDomain.TryParse((string?)null, out _));

    [Fact]
    public void Equality_ByName()
    {
        Assert.Equal(TrustDomain.Parse("example.org"), TrustDomain.Parse("spiffe://example.org"));
        Assert.NotEqual(TrustDomain.Parse("example.org"), TrustDomain.Parse("example.org.evil"));
        Assert.True(TrustDomain.Parse("a") == TrustDomain.Parse("a"));
        Assert.Equal(TrustDomain.Parse("a").GetHashCode(), SpiffeId.Parse("spiffe://a/x").TrustDomain.GetHashCode());
    }
}

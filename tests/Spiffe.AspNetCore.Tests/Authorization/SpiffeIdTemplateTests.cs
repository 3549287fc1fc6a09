using Spiffe.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Tests.Authorization;

public sealed class SpiffeIdTemplateTests
{
    [Theory]
    [InlineData("spiffe://example.org/ns/{ns}/sa/*", "spiffe://example.org/ns/prod/sa/web", true)]
    [InlineData("spiffe://example.org/ns/{ns}/sa/*", "spiffe://example.org/ns/prod/sa", false)]
    [InlineData("spiffe://example.org/ns/{ns}/sa/*", "spiffe://example.org/ns/prod/sa/web/x", false)]
    [InlineData("spiffe://example.org/ns/{ns}/sa/*", "spiffe://example.org.evil/ns/prod/sa/web", false)]
    [InlineData("spiffe://example.org/ns/{ns}/sa/*", "spiffe://other.org/ns/prod/sa/web", false)]
    [InlineData("spiffe://example.org/web", "spiffe://example.org/Web", false)]
    [InlineData("spiffe://example.org/web", "spiffe://example.org/web", true)]
    [InlineData("spiffe://example.org/**", "spiffe://example.org", true)]
    [InlineData("spiffe://example.org/**", "spiffe://example.org/a/b/c", true)]
    [InlineData("spiffe://example.org/a/**", "spiffe://example.org/a", true)]
    [InlineData("spiffe://example.org/a/**", "spiffe://example.org/ab", false)]
    [InlineData("spiffe://example.org", "spiffe://example.org", true)]
    [InlineData("spiffe://example.org", "spiffe://example.org/a", false)]
    public void IsMatch_Cases(string template, string id, bool expected) =>
        Assert.Equal(expected, SpiffeIdTemplate.Parse(template).IsMatch(SpiffeId.Parse(id)));

    [Fact]
    public void TryMatch_Variables_Captured()
    {
        SpiffeIdTemplate template = SpiffeIdTemplate.Parse("spiffe://example.org/ns/{ns}/sa/{sa}");

        Assert.True(template.TryMatch(SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web"), out IReadOnlyDictionary<string, string>? values));

        Assert.Equal("prod", values["ns"]);
        Assert.Equal("web", values["sa"]);
        Assert.Equal(["ns", "sa"], template.VariableNames);
    }

    [Theory]
    [InlineData("https://example.org/a", "does not start")]
    [InlineData("spiffe://*/a", "trust domain")]
    [InlineData("spiffe://example.org/web-*", "whole segments")]
    [InlineData("spiffe://example.org/**/a", "may only end")]
    [InlineData("spiffe://example.org/{a}/{a}", "twice")]
    [InlineData("spiffe://example.org/{a-b}", "letters, digits")]
    [InlineData("spiffe://example.org//a", "empty path segment")]
    [InlineData("spiffe://example.org/a/", "empty path segment")]
    [InlineData("spiffe://example.org/../a", "neither")]
    public void Parse_Malformed_ThrowsSayingWhy(string template, string expected) =>
        Assert.Contains(expected, Assert.Throws<FormatException>(() => SpiffeIdTemplate.Parse(template)).Message, StringComparison.Ordinal);
}

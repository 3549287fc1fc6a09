using Spiffe.Jwt;

namespace Spiffe.Core.Tests.Jwt;

public sealed class JwtSvidRequestTests
{
    [Fact]
    public void Constructor_AudiencesInAnyOrderWithDuplicates_EqualRequests()
    {
        var first = new JwtSvidRequest(["b", "a", "a"]);
        var second = new JwtSvidRequest(["a", "b"]);

        Assert.Equal(first, second);
        Assert.True(first == second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.Equal(["a", "b"], first.Audiences);
        Assert.Equal("aud=a,b", first.ToString());
    }

    [Fact]
    public void Constructor_DifferentSubject_NotEqual()
    {
        var id = SpiffeId.Parse("spiffe://example.org/web");
        var withSubject = new JwtSvidRequest(["a"], id);

        Assert.NotEqual(new JwtSvidRequest(["a"]), withSubject);
        Assert.Equal(id, withSubject.Subject);
        Assert.Equal("aud=a sub=spiffe://example.org/web", withSubject.ToString());
    }

    public static TheoryData<string?[]> BadAudiences => new() { Array.Empty<string?>(), new string?[] { "" }, new string?[] { "a", null } };

    [Theory]
    [MemberData(nameof(BadAudiences))]
    public void Constructor_NoOrEmptyAudience_Throws(string?[] audiences) =>
        Assert.Throws<ArgumentException>(() => new JwtSvidRequest(audiences!));

    [Fact]
    public void Default_IsDefaultWithNoAudiences()
    {
        JwtSvidRequest request = default;

        Assert.True(request.IsDefault);
        Assert.Empty(request.Audiences);
        Assert.False(new JwtSvidRequest(["a"]).IsDefault);
        Assert.Throws<ArgumentNullException>(() => new JwtSvidRequest(null!));
    }
}

using Microsoft.Extensions.Time.Testing;
using Spiffe.AspNetCore.Authentication;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.AspNetCore.Tests.Authorization;

/// <summary>The validated-token cache of the JWT scheme: bounded, never past exp, dropped when the verifying bundle changes.</summary>
public sealed class JwtSvidAuthenticatorTests : IDisposable
{
    private static readonly SpiffeId s_id = SpiffeId.Parse("spiffe://example.org/web");
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TestJwtAuthority _jwt;
    private readonly MutableJwtBundleSource _bundles;

    public JwtSvidAuthenticatorTests()
    {
        _jwt = new TestJwtAuthority(TrustDomain.Parse("example.org"), _clock);
        _jwt.AddKey("ES256", "key-1");
        _bundles = new MutableJwtBundleSource(_jwt.CreateJwtBundle());
    }

    public void Dispose() => _jwt.Dispose();

    [Fact]
    public void TryValidate_SameTokenTwice_SecondFromCache()
    {
        JwtSvidAuthenticator authenticator = Create(16);
        string token = _jwt.MintJwtSvid(s_id, ["a"]);

        Assert.True(authenticator.TryValidate(token, out JwtSvidAuthenticator.Entry? first, out _));
        Assert.True(authenticator.TryValidate(token, out JwtSvidAuthenticator.Entry? second, out _));

        Assert.Same(first, second);
        Assert.Equal(1, authenticator.CachedCount);
    }

    [Fact]
    public void TryValidate_BundleReplacedWithoutTheKey_CachedTokenRejected()
    {
        JwtSvidAuthenticator authenticator = Create(16);
        string token = _jwt.MintJwtSvid(s_id, ["a"]);
        Assert.True(authenticator.TryValidate(token, out _, out _));
        using var rotated = new TestJwtAuthority(TrustDomain.Parse("example.org"), _clock);
        rotated.AddKey("ES256", "key-2");

        _bundles.Bundle = rotated.CreateJwtBundle();

        Assert.False(authenticator.TryValidate(token, out _, out string? error));
        Assert.Contains("key-1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryValidate_BundleReplacedWithSameKeys_RevalidatedAndAccepted()
    {
        JwtSvidAuthenticator authenticator = Create(16);
        string token = _jwt.MintJwtSvid(s_id, ["a"]);
        Assert.True(authenticator.TryValidate(token, out JwtSvidAuthenticator.Entry? first, out _));

        _bundles.Bundle = _jwt.CreateJwtBundle();

        Assert.True(authenticator.TryValidate(token, out JwtSvidAuthenticator.Entry? second, out _));
        Assert.NotSame(first, second);
    }

    [Fact]
    public void TryValidate_CachedTokenPastExp_Rejected()
    {
        JwtSvidAuthenticator authenticator = Create(16, leeway: TimeSpan.Zero);
        string token = _jwt.MintJwtSvid(s_id, ["a"], TimeSpan.FromMinutes(1));
        Assert.True(authenticator.TryValidate(token, out _, out _));

        _clock.Advance(TimeSpan.FromMinutes(1));

        Assert.False(authenticator.TryValidate(token, out _, out string? error));
        Assert.Contains("expired", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryValidate_ManyTokens_CacheStaysBounded()
    {
        JwtSvidAuthenticator authenticator = Create(8);

        for (int i = 0; i < 50; i++)
        {
            Assert.True(authenticator.TryValidate(_jwt.MintJwtSvid(SpiffeId.Parse($"spiffe://example.org/w{i}"), ["a"]), out _, out _));
            Assert.InRange(authenticator.CachedCount, 1, 8);
        }
    }

    [Fact]
    public void TryValidate_CacheOff_NothingKept()
    {
        JwtSvidAuthenticator authenticator = Create(0);
        string token = _jwt.MintJwtSvid(s_id, ["a"]);

        Assert.True(authenticator.TryValidate(token, out JwtSvidAuthenticator.Entry? first, out _));
        Assert.True(authenticator.TryValidate(token, out JwtSvidAuthenticator.Entry? second, out _));

        Assert.NotSame(first, second);
        Assert.Equal(0, authenticator.CachedCount);
    }

    private JwtSvidAuthenticator Create(int size, TimeSpan? leeway = null) =>
        new(new JwtSvidValidator(_bundles, ["a"], _clock, leeway), size);
}

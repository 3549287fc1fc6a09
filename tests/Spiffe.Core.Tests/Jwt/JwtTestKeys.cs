using System.Text;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Bundles;
using Spiffe.Testing;

namespace Spiffe.Core.Tests.Jwt;

/// <summary>Keys shared by the JWT tests (RSA key generation is slow, so they are created once).</summary>
internal static class JwtTestKeys
{
    internal static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    internal static readonly long NowSeconds = Now.ToUnixTimeSeconds();

    internal static readonly TrustDomain DomainA = TrustDomain.Parse("example.org");

    internal static readonly TrustDomain DomainB = TrustDomain.Parse("other.org");

    internal static readonly string[] Algorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"];

    /// <summary>Trust domain A: one key per algorithm (kid = algorithm name in lowercase), plus an x509-svid key and a key without use.</summary>
    internal static readonly TestJwtAuthority A = CreateA();

    /// <summary>Trust domain B: one ES256 key.</summary>
    internal static readonly TestJwtAuthority B = CreateB();

    internal static readonly JwtBundleSet AllBundles = new([A.CreateJwtBundle(), B.CreateJwtBundle()]);

    /// <summary>A clock that never moves: tokens minted by A and B are checked against it.</summary>
    internal static FakeTimeProvider Clock() => new(Now);

    internal static string Kid(string algorithm) => algorithm.ToLowerInvariant();

    /// <summary>A JSON object from raw member values; a null value leaves the member out.</summary>
    internal static string Object(params (string Name, string? RawValue)[] members)
    {
        var builder = new StringBuilder("{");
        foreach ((string name, string? raw) in members)
        {
            if (raw is null)
            {
                continue;
            }

            if (builder.Length > 1)
            {
                builder.Append(',');
            }

            builder.Append('"').Append(name).Append("\":").Append(raw);
        }

        return builder.Append('}').ToString();
    }

    /// <summary>Default claims (sub in A, aud ["svc"], exp now+5m, iat now) with overrides; a null override removes the claim.</summary>
    internal static string Claims(string? sub = "\"spiffe://example.org/web\"", string? aud = "[\"svc\"]", string? exp = "default", string? nbf = null, string? iat = "default", string? extra = null)
    {
        string? expValue = exp == "default" ? (NowSeconds + 300).ToString(System.Globalization.CultureInfo.InvariantCulture) : exp;
        string? iatValue = iat == "default" ? NowSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) : iat;
        string json = Object(("sub", sub), ("aud", aud), ("exp", expValue), ("nbf", nbf), ("iat", iatValue));
        return extra is null ? json : json[..^1] + "," + extra + "}";
    }

    internal static string Header(string algorithm, string? kid = "default", string? typ = "\"JWT\"") =>
        Object(("alg", "\"" + algorithm + "\""), ("kid", kid == "default" ? "\"" + Kid(algorithm) + "\"" : kid), ("typ", typ));

    /// <summary>Signs with A's key for <paramref name="algorithm"/>.</summary>
    internal static string SignA(string algorithm, string header, string claims, string? signWith = null, bool der = false) =>
        A.Sign(Kid(algorithm), header, claims, signWith, der);

    /// <summary>A valid default token of A signed with <paramref name="algorithm"/>.</summary>
    internal static string ValidA(string algorithm = "ES256") => SignA(algorithm, Header(algorithm), Claims());

    private static TestJwtAuthority CreateA()
    {
        var authority = new TestJwtAuthority(DomainA, Clock());
        foreach (string algorithm in Algorithms)
        {
            authority.AddKey(algorithm, Kid(algorithm));
        }

        authority.AddKey("ES256", "x509-key", use: "x509-svid");
        authority.AddKey("ES256", "no-use-key", use: null);
        authority.AddKey("ES256", "upper-use-key", use: "JWT-SVID");
        return authority;
    }

    private static TestJwtAuthority CreateB()
    {
        var authority = new TestJwtAuthority(DomainB, Clock());
        authority.AddKey("ES256", "b-es256");
        return authority;
    }
}

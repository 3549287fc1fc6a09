namespace Spiffe.Core.Tests.Ids;

/// <summary>SPIFFE-RULES.md A3 rule 43: authorizers, deny by default.</summary>
public sealed class SpiffeIdAuthorizerTests
{
    private static readonly SpiffeId s_web = SpiffeId.Parse("spiffe://example.org/web");
    private static readonly SpiffeId s_db = SpiffeId.Parse("spiffe://example.org/db");
    private static readonly SpiffeId s_evil = SpiffeId.Parse("spiffe://example.org.evil/web");
    private static readonly SpiffeId s_other = SpiffeId.Parse("spiffe://other.org/web");
    private static readonly TrustDomain s_example = TrustDomain.Parse("example.org");

    public static TheoryData<string, SpiffeIdAuthorizer, SpiffeId, bool> Cases => new()
    {
        { "any allows", SpiffeIdAuthorizer.Any(), s_other, true },
        { "deny refuses", SpiffeIdAuthorizer.Deny(), s_web, false },
        { "exact allows itself", SpiffeIdAuthorizer.Exact(s_web), s_web, true },
        { "exact refuses another path", SpiffeIdAuthorizer.Exact(s_web), s_db, false },
        { "exact refuses lookalike TD", SpiffeIdAuthorizer.Exact(s_web), s_evil, false },
        { "exact is case-sensitive", SpiffeIdAuthorizer.Exact(s_web), SpiffeId.Parse("spiffe://example.org/Web"), false },
        { "one-of allows member", SpiffeIdAuthorizer.OneOf(s_web, s_db), s_db, true },
        { "one-of refuses non-member", SpiffeIdAuthorizer.OneOf(s_web, s_db), s_other, false },
        { "one-of empty refuses", SpiffeIdAuthorizer.OneOf(), s_web, false },
        { "member-of allows member", SpiffeIdAuthorizer.MemberOf(s_example), s_db, true },
        { "member-of refuses example.org.evil", SpiffeIdAuthorizer.MemberOf(s_example), s_evil, false },
        { "member-of refuses other TD", SpiffeIdAuthorizer.MemberOf(s_example), s_other, false },
        { "predicate allows", SpiffeIdAuthorizer.Matching(id => id.Path.StartsWith("/w", StringComparison.Ordinal), "paths under /w"), s_web, true },
        { "predicate refuses", SpiffeIdAuthorizer.Matching(id => id.Path.StartsWith("/w", StringComparison.Ordinal), "paths under /w"), s_db, false },
        { "any-of empty refuses", SpiffeIdAuthorizer.AnyOf(), s_web, false },
        { "all-of empty refuses", SpiffeIdAuthorizer.AllOf(), s_web, false },
        { "or allows either", SpiffeIdAuthorizer.Exact(s_web).Or(SpiffeIdAuthorizer.Exact(s_db)), s_db, true },
        { "or refuses neither", SpiffeIdAuthorizer.Exact(s_web).Or(SpiffeIdAuthorizer.Exact(s_db)), s_other, false },
        { "and needs both", SpiffeIdAuthorizer.MemberOf(s_example).And(SpiffeIdAuthorizer.Exact(s_web)), s_web, true },
        { "and refuses one", SpiffeIdAuthorizer.MemberOf(s_example).And(SpiffeIdAuthorizer.Exact(s_web)), s_db, false },
        { "all-of three", SpiffeIdAuthorizer.AllOf(SpiffeIdAuthorizer.Any(), SpiffeIdAuthorizer.MemberOf(s_example), SpiffeIdAuthorizer.OneOf(s_web)), s_web, true },
        { "any-of with deny", SpiffeIdAuthorizer.AnyOf(SpiffeIdAuthorizer.Deny(), SpiffeIdAuthorizer.Exact(s_db)), s_web, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IsAuthorized_Table(string scenario, SpiffeIdAuthorizer authorizer, SpiffeId id, bool expected) =>
        Assert.True(expected == authorizer.IsAuthorized(id), scenario);

    [Fact]
    public void ToString_DescribesTheRule()
    {
        Assert.Equal("exactly spiffe://example.org/web", SpiffeIdAuthorizer.Exact(s_web).ToString());
        Assert.Equal("any member of trust domain example.org", SpiffeIdAuthorizer.MemberOf(s_example).ToString());
        Assert.Equal("one of spiffe://example.org/db, spiffe://example.org/web", SpiffeIdAuthorizer.OneOf(s_web, s_db).ToString());
        Assert.Equal("nobody", SpiffeIdAuthorizer.AnyOf().ToString());
    }

    [Fact]
    public void Factories_RejectNullArguments()
    {
        Assert.Throws<ArgumentNullException>(() => SpiffeIdAuthorizer.Exact(null!));
        Assert.Throws<ArgumentNullException>(() => SpiffeIdAuthorizer.MemberOf(null!));
        Assert.Throws<ArgumentException>(() => SpiffeIdAuthorizer.OneOf(s_web, null!));
        Assert.Throws<ArgumentNullException>(() => SpiffeIdAuthorizer.AnyOf(SpiffeIdAuthorizer.Any(), null!));
        Assert.Throws<ArgumentException>(() => SpiffeIdAuthorizer.Matching(_ => true, " "));
    }
}

using System.Collections.Frozen;

namespace Spiffe;

/// <summary>
/// Decides whether a peer, already authenticated as a SPIFFE ID, may talk to us. Authorization is
/// deny-by-default: <see cref="Deny"/> refuses everyone, and a composition of nothing
/// (<see cref="AnyOf"/> or <see cref="AllOf"/> with no members, <see cref="OneOf"/> with no IDs)
/// also refuses everyone.
/// </summary>
/// <remarks>
/// <code>
/// var frontend = SpiffeId.Parse("spiffe://example.org/frontend");
/// var admin = SpiffeId.Parse("spiffe://example.org/admin");
/// SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.Exact(frontend).Or(SpiffeIdAuthorizer.Exact(admin));
/// bool ok = authorizer.IsAuthorized(peerId);
/// </code>
/// Implementations must be thread-safe and fast: they run inside TLS handshakes.
/// </remarks>
public abstract class SpiffeIdAuthorizer
{
    private static readonly SpiffeIdAuthorizer s_any = new AnyAuthorizer();
    private static readonly SpiffeIdAuthorizer s_deny = new DenyAuthorizer();

    /// <summary>Whether <paramref name="id"/> is allowed.</summary>
    public abstract bool IsAuthorized(SpiffeId id);

    /// <summary>A readable description of the rule, used in refusal messages and logs.</summary>
    public abstract override string ToString();

    /// <summary>Allows every authenticated SPIFFE ID of every trusted trust domain. Authentication still applies.</summary>
    public static SpiffeIdAuthorizer Any() => s_any;

    /// <summary>Refuses everyone.</summary>
    public static SpiffeIdAuthorizer Deny() => s_deny;

    /// <summary>Allows exactly <paramref name="id"/> (exact, case-sensitive comparison).</summary>
    public static SpiffeIdAuthorizer Exact(SpiffeId id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return new ExactAuthorizer(id);
    }

    /// <summary>Allows the listed IDs; an empty list allows nobody.</summary>
    public static SpiffeIdAuthorizer OneOf(params IEnumerable<SpiffeId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        FrozenSet<SpiffeId> set = ids.ToFrozenSet();
        if (set.Contains(null!))
        {
            throw new ArgumentException("The list of allowed SPIFFE IDs contains null.", nameof(ids));
        }

        return set.Count == 0 ? s_deny : new OneOfAuthorizer(set);
    }

    /// <summary>
    /// Allows every ID of <paramref name="trustDomain"/>. Trust domains compare whole:
    /// <c>MemberOf(example.org)</c> refuses <c>spiffe://example.org.evil/x</c>.
    /// </summary>
    public static SpiffeIdAuthorizer MemberOf(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return new MemberOfAuthorizer(trustDomain);
    }

    /// <summary>Allows the IDs for which <paramref name="predicate"/> returns true.</summary>
    /// <param name="predicate">The rule; it must be thread-safe and must not block.</param>
    /// <param name="description">What the rule allows, for refusal messages (e.g. "IDs under /ns/prod/").</param>
    public static SpiffeIdAuthorizer Matching(Func<SpiffeId, bool> predicate, string description)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        return new PredicateAuthorizer(predicate, description);
    }

    /// <summary>Allows an ID that at least one of <paramref name="authorizers"/> allows; none given allows nobody.</summary>
    public static SpiffeIdAuthorizer AnyOf(params IEnumerable<SpiffeIdAuthorizer> authorizers) =>
        Compose(authorizers, any: true);

    /// <summary>Allows an ID that every one of <paramref name="authorizers"/> allows; none given allows nobody.</summary>
    public static SpiffeIdAuthorizer AllOf(params IEnumerable<SpiffeIdAuthorizer> authorizers) =>
        Compose(authorizers, any: false);

    /// <summary>Allows an ID that both this and <paramref name="other"/> allow.</summary>
    public SpiffeIdAuthorizer And(SpiffeIdAuthorizer other) => AllOf(this, other);

    /// <summary>Allows an ID that this or <paramref name="other"/> allows.</summary>
    public SpiffeIdAuthorizer Or(SpiffeIdAuthorizer other) => AnyOf(this, other);

    private static SpiffeIdAuthorizer Compose(IEnumerable<SpiffeIdAuthorizer> authorizers, bool any)
    {
        ArgumentNullException.ThrowIfNull(authorizers);
        SpiffeIdAuthorizer[] members = [.. authorizers];
        foreach (SpiffeIdAuthorizer member in members)
        {
            ArgumentNullException.ThrowIfNull(member, nameof(authorizers));
        }

        return members.Length switch
        {
            0 => s_deny,
            1 => members[0],
            _ => new CompositeAuthorizer(members, any),
        };
    }

    private sealed class AnyAuthorizer : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => id is not null;

        public override string ToString() => "any SPIFFE ID";
    }

    private sealed class DenyAuthorizer : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => false;

        public override string ToString() => "nobody";
    }

    private sealed class ExactAuthorizer(SpiffeId allowed) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => allowed.Equals(id);

        public override string ToString() => $"exactly {allowed}";
    }

    private sealed class OneOfAuthorizer(FrozenSet<SpiffeId> allowed) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => id is not null && allowed.Contains(id);

        public override string ToString() => $"one of {string.Join(", ", allowed.Select(static i => i.ToString()).Order(StringComparer.Ordinal))}";
    }

    private sealed class MemberOfAuthorizer(TrustDomain trustDomain) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => id is not null && id.MemberOf(trustDomain);

        public override string ToString() => $"any member of trust domain {trustDomain}";
    }

    private sealed class PredicateAuthorizer(Func<SpiffeId, bool> predicate, string description) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id) => id is not null && predicate(id);

        public override string ToString() => description;
    }

    private sealed class CompositeAuthorizer(SpiffeIdAuthorizer[] members, bool any) : SpiffeIdAuthorizer
    {
        public override bool IsAuthorized(SpiffeId id)
        {
            foreach (SpiffeIdAuthorizer member in members)
            {
                if (member.IsAuthorized(id) == any)
                {
                    return any;
                }
            }

            return !any;
        }

        public override string ToString() =>
            $"{(any ? "any of" : "all of")} ({string.Join("; ", members.Select(static m => m.ToString()))})";
    }
}

namespace Spiffe.Jwt;

/// <summary>
/// What a JWT-SVID is asked for: the audiences it must carry and, when the workload has several
/// identities, the subject. A value type so new parameters can be added without breaking callers.
/// </summary>
public readonly struct JwtSvidRequest : IEquatable<JwtSvidRequest>
{
    private readonly string[]? _audiences;

    /// <summary>Creates a request.</summary>
    /// <param name="audiences">The audiences (at least one, none null or empty); order and duplicates do not matter.</param>
    /// <param name="subject">The SPIFFE ID to ask a token for; null for the workload's default identity.</param>
    /// <exception cref="ArgumentNullException"><paramref name="audiences"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="audiences"/> is empty or holds a null or empty value.</exception>
    public JwtSvidRequest(IEnumerable<string> audiences, SpiffeId? subject = null)
    {
        ArgumentNullException.ThrowIfNull(audiences);
        string[] sorted = [.. audiences.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        if (sorted.Length == 0)
        {
            throw new ArgumentException("A JWT-SVID needs at least one audience.", nameof(audiences));
        }

        if (Array.Exists(sorted, string.IsNullOrEmpty))
        {
            throw new ArgumentException("An audience is null or empty.", nameof(audiences));
        }

        _audiences = sorted;
        Subject = subject;
    }

    /// <summary>The audiences, without duplicates, in ordinal order; empty for <c>default</c>.</summary>
    public IReadOnlyList<string> Audiences => _audiences ?? [];

    /// <summary>The subject, or null for the workload's default identity.</summary>
    public SpiffeId? Subject { get; }

    /// <summary>True for <c>default(JwtSvidRequest)</c>, which no source accepts.</summary>
    public bool IsDefault => _audiences is null;

    /// <summary>Equal when the audience sets and subjects are equal.</summary>
    public bool Equals(JwtSvidRequest other) =>
        Subject == other.Subject && Audiences.SequenceEqual(other.Audiences, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is JwtSvidRequest other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (string audience in Audiences)
        {
            hash.Add(audience, StringComparer.Ordinal);
        }

        hash.Add(Subject);
        return hash.ToHashCode();
    }

    /// <summary>Equality of two requests.</summary>
    public static bool operator ==(JwtSvidRequest left, JwtSvidRequest right) => left.Equals(right);

    /// <summary>Inequality of two requests.</summary>
    public static bool operator !=(JwtSvidRequest left, JwtSvidRequest right) => !left.Equals(right);

    /// <summary>The audiences and subject, e.g. <c>aud=a,b sub=spiffe://example.org/web</c>.</summary>
    public override string ToString() => $"aud={string.Join(",", Audiences)}{(Subject is null ? string.Empty : $" sub={Subject}")}";
}

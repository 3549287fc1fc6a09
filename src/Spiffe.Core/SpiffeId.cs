using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Spiffe;

/// <summary>
/// A SPIFFE ID (<c>spiffe://trust-domain/path</c>), parsed strictly per SPIFFE-ID.md: lowercase
/// scheme and trust domain, no userinfo, port, query, fragment or percent-encoding, no empty,
/// <c>.</c> or <c>..</c> path segments, no trailing slash. Nothing is normalised: a valid ID
/// round-trips byte for byte.
/// </summary>
/// <remarks>
/// Instances are immutable and compare by their exact text (the path is case-sensitive; the scheme
/// and trust domain can only be lowercase after parsing).
/// <code>
/// var id = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web");
/// bool local = id.MemberOf(TrustDomain.Parse("example.org")); // true
/// </code>
/// </remarks>
[JsonConverter(typeof(SpiffeIdJsonConverter))]
public sealed class SpiffeId : IEquatable<SpiffeId>, ISpanParsable<SpiffeId>
{
    private readonly string _value;
    private readonly int _trustDomainLength;
    private TrustDomain? _trustDomain;
    private string? _path;

    private SpiffeId(string value, int trustDomainLength, TrustDomain? trustDomain = null)
    {
        _value = value;
        _trustDomainLength = trustDomainLength;
        _trustDomain = trustDomain;
    }

    /// <summary>The trust domain this ID belongs to.</summary>
    public TrustDomain TrustDomain =>
        _trustDomain ??= TrustDomain.CreateTrusted(
        _value.Substring(SpiffeIdSyntax.SchemeLength, _trustDomainLength), IsTrustDomainId ? this : null);

    /// <summary>The path, including its leading '/', or the empty string for a trust domain ID.</summary>
    public string Path => _path ??= _value[(SpiffeIdSyntax.SchemeLength + _trustDomainLength)..];

    /// <summary>True when the ID has no path, i.e. it names the trust domain itself (<c>spiffe://example.org</c>).</summary>
    public bool IsTrustDomainId => _value.Length == SpiffeIdSyntax.SchemeLength + _trustDomainLength;

    /// <summary>Whether this ID belongs to <paramref name="trustDomain"/>. Compares whole names: <c>example.org.evil</c> is not <c>example.org</c>.</summary>
    public bool MemberOf(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return TrustDomainSpan.SequenceEqual(trustDomain.Name);
    }

    internal ReadOnlySpan<char> TrustDomainSpan => _value.AsSpan(SpiffeIdSyntax.SchemeLength, _trustDomainLength);

    /// <summary>Parses a SPIFFE ID.</summary>
    /// <exception cref="FormatException">The input is not a valid SPIFFE ID; the message names the rule it breaks.</exception>
    public static SpiffeId Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        SpiffeIdError error = SpiffeIdSyntax.ValidateId(value, out int tdLength, out int index);
        return error == SpiffeIdError.None
            ? new SpiffeId(value, tdLength)
            : throw new FormatException(SpiffeIdSyntax.Describe(error, value, index));
    }

    /// <inheritdoc cref="Parse(string)"/>
    public static SpiffeId Parse(ReadOnlySpan<char> value)
    {
        SpiffeIdError error = SpiffeIdSyntax.ValidateId(value, out int tdLength, out int index);
        return error == SpiffeIdError.None
            ? new SpiffeId(value.ToString(), tdLength)
            : throw new FormatException(SpiffeIdSyntax.Describe(error, value, index));
    }

    /// <summary>Parses a SPIFFE ID without throwing: any input, including null and unpaired surrogates, gives true or false.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out SpiffeId? id)
    {
        if (value is not null && SpiffeIdSyntax.ValidateId(value, out int tdLength, out _) == SpiffeIdError.None)
        {
            id = new SpiffeId(value, tdLength);
            return true;
        }

        id = null;
        return false;
    }

    /// <inheritdoc cref="TryParse(string?, out SpiffeId?)"/>
    public static bool TryParse(ReadOnlySpan<char> value, [NotNullWhen(true)] out SpiffeId? id)
    {
        if (SpiffeIdSyntax.ValidateId(value, out int tdLength, out _) == SpiffeIdError.None)
        {
            id = new SpiffeId(value.ToString(), tdLength);
            return true;
        }

        id = null;
        return false;
    }

    /// <summary>Parses a SPIFFE ID, returning the reason on failure instead of throwing.</summary>
    internal static bool TryParse(string value, [NotNullWhen(true)] out SpiffeId? id, [NotNullWhen(false)] out string? error)
    {
        SpiffeIdError code = SpiffeIdSyntax.ValidateId(value, out int tdLength, out int index);
        if (code == SpiffeIdError.None)
        {
            id = new SpiffeId(value, tdLength);
            error = null;
            return true;
        }

        id = null;
        error = SpiffeIdSyntax.Describe(code, value, index);
        return false;
    }

    /// <summary>Creates the ID <c>spiffe://{trustDomain}{path}</c>.</summary>
    /// <param name="trustDomain">The trust domain.</param>
    /// <param name="path">Empty, or an absolute path such as <c>/ns/prod/sa/web</c>.</param>
    /// <exception cref="FormatException">The path breaks a SPIFFE ID rule, or the ID would exceed 2048 bytes.</exception>
    public static SpiffeId FromPath(TrustDomain trustDomain, string path)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        ArgumentNullException.ThrowIfNull(path);
        SpiffeIdError error = SpiffeIdSyntax.ValidatePath(path, out int index);
        if (error != SpiffeIdError.None)
        {
            throw new FormatException(SpiffeIdSyntax.Describe(error, path, index, "SPIFFE ID path"));
        }

        return Build(trustDomain, string.Concat(SpiffeIdSyntax.Scheme, trustDomain.Name, path));
    }

    /// <summary>Creates the ID <c>spiffe://{trustDomain}/{segment}/{segment}…</c>; no segments gives the trust domain ID.</summary>
    /// <exception cref="FormatException">A segment is empty, '.', '..' or has a character outside <c>a-z A-Z 0-9 . - _</c>, or the ID would exceed 2048 bytes.</exception>
    public static SpiffeId FromSegments(TrustDomain trustDomain, params ReadOnlySpan<string> segments)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        var builder = new System.Text.StringBuilder(SpiffeIdSyntax.Scheme, 64).Append(trustDomain.Name);
        foreach (string segment in segments)
        {
            ArgumentNullException.ThrowIfNull(segment, nameof(segments));
            SpiffeIdError error = SpiffeIdSyntax.ValidateSegment(segment, out int index);
            if (error != SpiffeIdError.None)
            {
                throw new FormatException(SpiffeIdSyntax.Describe(error, segment, index, "SPIFFE ID path segment"));
            }

            builder.Append('/').Append(segment);
        }

        return Build(trustDomain, builder.ToString());
    }

    private static SpiffeId Build(TrustDomain trustDomain, string value)
    {
        // SPIFFE-ID.md §2.3: implementations SHOULD NOT generate IDs longer than 2048 bytes
        // (every valid character is ASCII, so characters are bytes).
        if (value.Length > SpiffeIdSyntax.MaxIdLength)
        {
            throw new FormatException(SpiffeIdSyntax.Describe(SpiffeIdError.TooLong, value, 0));
        }

        return new SpiffeId(value, trustDomain.Name.Length, trustDomain);
    }

    internal static SpiffeId CreateTrustDomainId(TrustDomain trustDomain) =>
        new(SpiffeIdSyntax.Scheme + trustDomain.Name, trustDomain.Name.Length, trustDomain);

    /// <summary>The ID exactly as parsed, e.g. <c>spiffe://example.org/ns/prod/sa/web</c>.</summary>
    public override string ToString() => _value;

    /// <inheritdoc/>
    public bool Equals([NotNullWhen(true)] SpiffeId? other) =>
        other is not null && string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals([NotNullWhen(true)] object? obj) => Equals(obj as SpiffeId);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_value);

    /// <summary>Compares two IDs by their exact text.</summary>
    public static bool operator ==(SpiffeId? left, SpiffeId? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two IDs by their exact text.</summary>
    public static bool operator !=(SpiffeId? left, SpiffeId? right) => !(left == right);

    static SpiffeId IParsable<SpiffeId>.Parse(string s, IFormatProvider? provider) => Parse(s);

    static bool IParsable<SpiffeId>.TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, [MaybeNullWhen(false)] out SpiffeId result) =>
        TryParse(s, out result);

    static SpiffeId ISpanParsable<SpiffeId>.Parse(ReadOnlySpan<char> s, IFormatProvider? provider) => Parse(s);

    static bool ISpanParsable<SpiffeId>.TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, [MaybeNullWhen(false)] out SpiffeId result) =>
        TryParse(s, out result);
}

using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Spiffe;

/// <summary>
/// A SPIFFE trust domain name such as <c>example.org</c>: lowercase <c>a-z 0-9 . - _</c>, at most
/// 255 bytes. It is only ever a name: IP-like or DNS-like names get no special treatment.
/// </summary>
/// <remarks>
/// <code>
/// var td = TrustDomain.Parse("example.org");          // or "spiffe://example.org"
/// SpiffeId web = SpiffeId.FromSegments(td, "ns", "prod", "sa", "web");
/// </code>
/// </remarks>
[JsonConverter(typeof(TrustDomainJsonConverter))]
public sealed class TrustDomain : IEquatable<TrustDomain>, ISpanParsable<TrustDomain>
{
    private SpiffeId? _id;

    private TrustDomain(string name, SpiffeId? id)
    {
        Name = name;
        _id = id;
    }

    /// <summary>The trust domain name, e.g. <c>example.org</c>.</summary>
    public string Name { get; }

    /// <summary>The trust domain's own SPIFFE ID, e.g. <c>spiffe://example.org</c> (the key used for bundles on the Workload API).</summary>
    public SpiffeId Id => _id ??= SpiffeId.CreateTrustDomainId(this);

    internal static TrustDomain CreateTrusted(string name, SpiffeId? id) => new(name, id);

    /// <summary>
    /// Parses a trust domain from its name (<c>example.org</c>) or from its trust domain ID
    /// (<c>spiffe://example.org</c>). An ID with a path is rejected: use <see cref="SpiffeId.TrustDomain"/>.
    /// </summary>
    /// <exception cref="FormatException">The input is not a valid trust domain; the message names the rule it breaks.</exception>
    public static TrustDomain Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryParseCore(value, out TrustDomain? td, out string? error) ? td : throw new FormatException(error);
    }

    /// <inheritdoc cref="Parse(string)"/>
    public static TrustDomain Parse(ReadOnlySpan<char> value) =>
        TryParseCore(value, out TrustDomain? td, out string? error) ? td : throw new FormatException(error);

    /// <summary>Parses a trust domain without throwing: any input, including null and unpaired surrogates, gives true or false.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out TrustDomain? trustDomain)
    {
        if (value is null)
        {
            trustDomain = null;
            return false;
        }

        return TryParseCore(value, out trustDomain, out _);
    }

    /// <inheritdoc cref="TryParse(string?, out TrustDomain?)"/>
    public static bool TryParse(ReadOnlySpan<char> value, [NotNullWhen(true)] out TrustDomain? trustDomain) =>
        TryParseCore(value, out trustDomain, out _);

    private static bool TryParseCore(ReadOnlySpan<char> value, [NotNullWhen(true)] out TrustDomain? trustDomain, [NotNullWhen(false)] out string? error)
    {
        trustDomain = null;
        SpiffeIdError code;
        int index;
        if (value.Contains("://", StringComparison.Ordinal))
        {
            code = SpiffeIdSyntax.ValidateId(value, out int tdLength, out index);
            if (code == SpiffeIdError.None && value.Length != SpiffeIdSyntax.SchemeLength + tdLength)
            {
                code = SpiffeIdError.TrustDomainHasPath;
                index = SpiffeIdSyntax.SchemeLength + tdLength;
            }

            if (code == SpiffeIdError.None)
            {
                trustDomain = new TrustDomain(value[SpiffeIdSyntax.SchemeLength..].ToString(), null);
            }
        }
        else
        {
            code = SpiffeIdSyntax.ValidateTrustDomainName(value, out index);
            if (code == SpiffeIdError.None)
            {
                trustDomain = new TrustDomain(value.ToString(), null);
            }
        }

        error = code == SpiffeIdError.None ? null : SpiffeIdSyntax.Describe(code, value, index, "trust domain");
        return trustDomain is not null;
    }

    /// <summary>The trust domain name, e.g. <c>example.org</c>.</summary>
    public override string ToString() => Name;

    /// <inheritdoc/>
    public bool Equals([NotNullWhen(true)] TrustDomain? other) =>
        other is not null && string.Equals(Name, other.Name, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals([NotNullWhen(true)] object? obj) => Equals(obj as TrustDomain);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    /// <summary>Compares two trust domains by name.</summary>
    public static bool operator ==(TrustDomain? left, TrustDomain? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two trust domains by name.</summary>
    public static bool operator !=(TrustDomain? left, TrustDomain? right) => !(left == right);

    static TrustDomain IParsable<TrustDomain>.Parse(string s, IFormatProvider? provider) => Parse(s);

    static bool IParsable<TrustDomain>.TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, [MaybeNullWhen(false)] out TrustDomain result) =>
        TryParse(s, out result);

    static TrustDomain ISpanParsable<TrustDomain>.Parse(ReadOnlySpan<char> s, IFormatProvider? provider) => Parse(s);

    static bool ISpanParsable<TrustDomain>.TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, [MaybeNullWhen(false)] out TrustDomain result) =>
        TryParse(s, out result);
}

using System.Buffers;
using System.Globalization;

namespace Spiffe;

/// <summary>Which SPIFFE ID rule (SPIFFE-ID.md §2) an input breaks.</summary>
internal enum SpiffeIdError : byte
{
    None,
    Empty,
    WrongScheme,
    MissingTrustDomain,
    TrustDomainUppercase,
    TrustDomainChar,
    TrustDomainTooLong,
    Userinfo,
    Port,
    PercentEncoded,
    Query,
    Fragment,
    PathChar,
    EmptySegment,
    DotSegment,
    TrailingSlash,
    PathNotAbsolute,
    TooLong,
    TrustDomainHasPath,
}

/// <summary>
/// The strict syntax of SPIFFE IDs and trust domain names. No normalising, no percent-decoding:
/// an input is either exactly valid or rejected with the rule it breaks.
/// </summary>
internal static class SpiffeIdSyntax
{
    internal const string Scheme = "spiffe://";
    internal const int SchemeLength = 9;

    /// <summary>SPIFFE-ID.md §2.3: IDs up to 2048 bytes MUST be supported; builders do not produce longer.</summary>
    internal const int MaxIdLength = 2048;

    /// <summary>RFC 3986 limits a host to 255 bytes; a trust domain name is a host.</summary>
    internal const int MaxTrustDomainLength = 255;

    internal const string TrustDomainAllowed = "a-z 0-9 . - _";
    internal const string PathAllowed = "a-z A-Z 0-9 . - _";

    private static readonly SearchValues<char> s_trustDomainChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789.-_");

    private static readonly SearchValues<char> s_segmentChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");

    // Character classes for ASCII, one byte per char: bit 1 = trust domain, bit 2 = path segment.
    // A scalar table walk beats vectorised searches here: typical IDs are 20-60 chars and the
    // segment rules need a look at every '/' anyway.
    private const byte TrustDomainClass = 1;
    private const byte SegmentClass = 2;

    private static ReadOnlySpan<byte> CharClasses =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 0x00
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 0x10
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, // 0x20: '-' '.'
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, // 0x30: 0-9
        0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, // 0x40: A-O
        2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 3, // 0x50: P-Z '_'
        0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, // 0x60: a-o
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, // 0x70: p-z
    ];

    private static bool Is(char c, byte charClass) => c < 128 && (CharClasses[c] & charClass) != 0;

    /// <summary>Validates a full SPIFFE ID; on success <paramref name="trustDomainLength"/> is the length of the host.</summary>
    internal static SpiffeIdError ValidateId(ReadOnlySpan<char> id, out int trustDomainLength, out int errorIndex)
    {
        trustDomainLength = 0;
        errorIndex = 0;
        if (!id.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return id.IsEmpty ? SpiffeIdError.Empty : SpiffeIdError.WrongScheme;
        }

        int i = SchemeLength;
        while (i < id.Length)
        {
            char c = id[i];
            if (!Is(c, TrustDomainClass))
            {
                if (c == '/')
                {
                    break;
                }

                errorIndex = i;
                return ClassifyHostChar(id, i);
            }

            i++;
        }

        int tdLength = i - SchemeLength;
        if (tdLength == 0)
        {
            errorIndex = SchemeLength;
            return SpiffeIdError.MissingTrustDomain;
        }

        if (tdLength > MaxTrustDomainLength)
        {
            errorIndex = SchemeLength + MaxTrustDomainLength;
            return SpiffeIdError.TrustDomainTooLong;
        }

        trustDomainLength = tdLength;
        if (i == id.Length)
        {
            return SpiffeIdError.None;
        }

        SpiffeIdError error = ValidatePath(id[i..], out errorIndex);
        errorIndex += i;
        return error;
    }

    /// <summary>Validates a path: empty, or '/'-separated non-empty segments that are not '.' or '..'.</summary>
    internal static SpiffeIdError ValidatePath(ReadOnlySpan<char> path, out int errorIndex)
    {
        errorIndex = 0;
        if (path.IsEmpty)
        {
            return SpiffeIdError.None;
        }

        if (path[0] != '/')
        {
            return SpiffeIdError.PathNotAbsolute;
        }

        int segmentStart = 1;
        for (int i = 1; i < path.Length; i++)
        {
            char c = path[i];
            if (c == '/')
            {
                SpiffeIdError segmentError = CheckSegment(path, segmentStart, i, last: false);
                if (segmentError != SpiffeIdError.None)
                {
                    errorIndex = segmentError == SpiffeIdError.EmptySegment ? segmentStart - 1 : segmentStart;
                    return segmentError;
                }

                segmentStart = i + 1;
            }
            else if (!Is(c, SegmentClass))
            {
                errorIndex = i;
                return ClassifyPathChar(c);
            }
        }

        SpiffeIdError lastError = CheckSegment(path, segmentStart, path.Length, last: true);
        errorIndex = lastError == SpiffeIdError.TrailingSlash ? segmentStart - 1 : segmentStart;
        return lastError;
    }

    private static SpiffeIdError CheckSegment(ReadOnlySpan<char> path, int start, int end, bool last)
    {
        int length = end - start;
        if (length == 0)
        {
            return last ? SpiffeIdError.TrailingSlash : SpiffeIdError.EmptySegment;
        }

        if (length <= 2 && path[start] == '.' && (length == 1 || path[start + 1] == '.'))
        {
            return SpiffeIdError.DotSegment;
        }

        return SpiffeIdError.None;
    }

    /// <summary>Names the fault of a character that cannot be part of a host in <paramref name="id"/>.</summary>
    private static SpiffeIdError ClassifyHostChar(ReadOnlySpan<char> id, int index)
    {
        SpiffeIdError error = ClassifyTrustDomainChar(id[index]);

        // "u:p@host": the ':' comes first, but the real fault is the userinfo.
        ReadOnlySpan<char> authority = id[SchemeLength..];
        int slash = authority.IndexOf('/');
        if (error == SpiffeIdError.Port && (slash < 0 ? authority : authority[..slash]).Contains('@'))
        {
            return SpiffeIdError.Userinfo;
        }

        return error;
    }

    /// <summary>Validates one path segment given to a builder (no '/').</summary>
    internal static SpiffeIdError ValidateSegment(ReadOnlySpan<char> segment, out int errorIndex)
    {
        errorIndex = 0;
        if (segment.IsEmpty)
        {
            return SpiffeIdError.EmptySegment;
        }

        int bad = segment.IndexOfAnyExcept(s_segmentChars);
        if (bad >= 0)
        {
            errorIndex = bad;
            return ClassifyPathChar(segment[bad]);
        }

        if (segment is "." or "..")
        {
            return SpiffeIdError.DotSegment;
        }

        return SpiffeIdError.None;
    }

    /// <summary>Validates a bare trust domain name (no scheme, no path).</summary>
    internal static SpiffeIdError ValidateTrustDomainName(ReadOnlySpan<char> name, out int errorIndex)
    {
        errorIndex = 0;
        if (name.IsEmpty)
        {
            return SpiffeIdError.MissingTrustDomain;
        }

        int bad = name.IndexOfAnyExcept(s_trustDomainChars);
        if (bad >= 0)
        {
            errorIndex = bad;
            return name[bad] == '/' ? SpiffeIdError.TrustDomainHasPath : ClassifyTrustDomainChar(name[bad]);
        }

        if (name.Length > MaxTrustDomainLength)
        {
            errorIndex = MaxTrustDomainLength;
            return SpiffeIdError.TrustDomainTooLong;
        }

        return SpiffeIdError.None;
    }

    private static SpiffeIdError ClassifyTrustDomainChar(char c) => c switch
    {
        '@' => SpiffeIdError.Userinfo,
        ':' => SpiffeIdError.Port,
        '%' => SpiffeIdError.PercentEncoded,
        '?' => SpiffeIdError.Query,
        '#' => SpiffeIdError.Fragment,
        >= 'A' and <= 'Z' => SpiffeIdError.TrustDomainUppercase,
        _ => SpiffeIdError.TrustDomainChar,
    };

    private static SpiffeIdError ClassifyPathChar(char c) => c switch
    {
        '%' => SpiffeIdError.PercentEncoded,
        '?' => SpiffeIdError.Query,
        '#' => SpiffeIdError.Fragment,
        _ => SpiffeIdError.PathChar,
    };

    /// <summary>Builds the message for a rejected input: what is wrong, where, and what is allowed.</summary>
    internal static string Describe(SpiffeIdError error, ReadOnlySpan<char> input, int index, string what = "SPIFFE ID")
    {
        string at = index < input.Length ? Quote(input[index]) : "end of input";
        string reason = error switch
        {
            SpiffeIdError.Empty => "it is empty",
            SpiffeIdError.WrongScheme => "the scheme must be exactly 'spiffe://' (lowercase)",
            SpiffeIdError.MissingTrustDomain => "the trust domain is missing",
            SpiffeIdError.TrustDomainUppercase => F($"trust domain contains uppercase {at} at index {index}; trust domains must be lowercase ({TrustDomainAllowed})"),
            SpiffeIdError.TrustDomainChar => F($"trust domain contains {at} at index {index}; allowed: {TrustDomainAllowed}"),
            SpiffeIdError.TrustDomainTooLong => F($"the trust domain is longer than {MaxTrustDomainLength} bytes"),
            SpiffeIdError.Userinfo => F($"userinfo ('@' at index {index}) is not allowed"),
            SpiffeIdError.Port => F($"a port (':' at index {index}) is not allowed"),
            SpiffeIdError.PercentEncoded => F($"percent-encoding ('%' at index {index}) is not allowed"),
            SpiffeIdError.Query => F($"a query ('?' at index {index}) is not allowed"),
            SpiffeIdError.Fragment => F($"a fragment ('#' at index {index}) is not allowed"),
            SpiffeIdError.PathChar => F($"path segment contains {at} at index {index}; allowed: {PathAllowed}"),
            SpiffeIdError.EmptySegment => F($"the path has an empty segment at index {index}"),
            SpiffeIdError.DotSegment => F($"the path has a '.' or '..' segment at index {index}"),
            SpiffeIdError.TrailingSlash => "the path must not end with '/'",
            SpiffeIdError.PathNotAbsolute => "the path must be empty or start with '/'",
            SpiffeIdError.TooLong => F($"it would be longer than {MaxIdLength} bytes"),
            SpiffeIdError.TrustDomainHasPath => F($"a trust domain name has no path ('/' at index {index}); use SpiffeId for IDs with a path"),
            _ => "it is invalid",
        };
        return F($"Invalid {what} \"{Shorten(input)}\": {reason}.");
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Quote(char c) =>
        c is >= ' ' and <= '~' ? F($"'{c}'") : F($"U+{(int)c:X4}");

    private static string Shorten(ReadOnlySpan<char> input) =>
        input.Length <= 120 ? input.ToString() : string.Concat(input[..117], "...");
}

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

    private static readonly SearchValues<char> s_pathChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/");

    private static readonly SearchValues<char> s_segmentChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");

    /// <summary>Validates a full SPIFFE ID; on success <paramref name="trustDomainLength"/> is the length of the host.</summary>
    internal static SpiffeIdError ValidateId(ReadOnlySpan<char> id, out int trustDomainLength, out int errorIndex)
    {
        trustDomainLength = 0;
        errorIndex = 0;
        if (id.IsEmpty)
        {
            return SpiffeIdError.Empty;
        }

        if (!id.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return SpiffeIdError.WrongScheme;
        }

        ReadOnlySpan<char> rest = id[SchemeLength..];
        int tdLength = rest.IndexOfAnyExcept(s_trustDomainChars);
        if (tdLength < 0)
        {
            tdLength = rest.Length;
        }
        else if (rest[tdLength] != '/')
        {
            errorIndex = SchemeLength + tdLength;
            return ClassifyTrustDomainChar(rest[tdLength]);
        }

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
        SpiffeIdError error = ValidatePath(rest[tdLength..], out errorIndex);
        errorIndex += SchemeLength + tdLength;
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

        int bad = path.IndexOfAnyExcept(s_pathChars);
        if (bad >= 0)
        {
            errorIndex = bad;
            return ClassifyPathChar(path[bad]);
        }

        // Every segment starts right after a '/'.
        int start = 1;
        while (true)
        {
            ReadOnlySpan<char> tail = path[start..];
            int length = tail.IndexOf('/');
            bool last = length < 0;
            if (last)
            {
                length = tail.Length;
            }

            if (length == 0)
            {
                errorIndex = start - 1;
                return last ? SpiffeIdError.TrailingSlash : SpiffeIdError.EmptySegment;
            }

            if (tail[0] == '.' && (length == 1 || (length == 2 && tail[1] == '.')))
            {
                errorIndex = start;
                return SpiffeIdError.DotSegment;
            }

            if (last)
            {
                return SpiffeIdError.None;
            }

            start += length + 1;
        }
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

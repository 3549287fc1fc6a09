using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>
/// A strict reader of Envoy's <c>x-forwarded-client-cert</c> (XFCC) header as Envoy documents it:
/// elements separated by <c>,</c>; in each element, <c>key=value</c> pairs separated by <c>;</c>;
/// keys <c>By</c>, <c>Hash</c>, <c>Cert</c>, <c>Chain</c>, <c>Subject</c>, <c>URI</c>, <c>DNS</c>
/// (case-insensitive; only <c>DNS</c> may repeat); a value containing <c>,</c>, <c>;</c> or <c>=</c>
/// is double-quoted, with <c>\"</c> for a quote inside it.
/// </summary>
/// <remarks>
/// Anything else (an unknown or repeated key, an unterminated quote, a stray character after a quoted
/// value, an empty element, control characters, more than <see cref="MaxElements"/> elements) makes the
/// whole header invalid: no partial result is ever returned. Never throws on any input.
/// </remarks>
internal static class ForwardedClientCertificateHeader
{
    /// <summary>The header name (fixed: identity is never read from another header).</summary>
    public const string Name = "x-forwarded-client-cert";

    /// <summary>The most elements (proxy hops) accepted in one header.</summary>
    public const int MaxElements = 32;

    /// <summary>The most pairs accepted in one element.</summary>
    public const int MaxPairs = 64;

    /// <summary>Parses <paramref name="header"/>; on failure <paramref name="error"/> says why (no header content is echoed).</summary>
    public static bool TryParse(
        string? header,
        [NotNullWhen(true)] out IReadOnlyList<ForwardedClientCertificate>? elements,
        [NotNullWhen(false)] out string? error)
    {
        elements = null;
        if (string.IsNullOrEmpty(header))
        {
            error = "the header is empty";
            return false;
        }

        var result = new List<ForwardedClientCertificate>();
        var value = new StringBuilder();
        int i = 0;
        while (true)
        {
            if (result.Count == MaxElements)
            {
                error = $"more than {MaxElements} elements";
                return false;
            }

            if (!TryParseElement(header, ref i, value, out ForwardedClientCertificate? element, out error))
            {
                return false;
            }

            result.Add(element);
            if (i == header.Length)
            {
                break;
            }

            // TryParseElement stops only at the end or at ','.
            i++;
            SkipListWhitespace(header, ref i);
        }

        elements = result;
        error = null;
        return true;
    }

    private static bool TryParseElement(string s, ref int i, StringBuilder value, [NotNullWhen(true)] out ForwardedClientCertificate? element, [NotNullWhen(false)] out string? error)
    {
        element = null;
        string? by = null, hash = null, cert = null, chain = null, subject = null, uri = null;
        List<string>? dns = null;
        int pairs = 0;
        while (true)
        {
            if (++pairs > MaxPairs)
            {
                error = $"more than {MaxPairs} pairs in an element";
                return false;
            }

            int keyStart = i;
            while (i < s.Length && IsKeyChar(s[i]))
            {
                i++;
            }

            if (i == keyStart)
            {
                error = i == s.Length || s[i] == ',' ? "an empty element or pair" : "a key is not a letter sequence";
                return false;
            }

            if (i == s.Length || s[i] != '=')
            {
                error = "a key without '='";
                return false;
            }

            ReadOnlySpan<char> key = s.AsSpan(keyStart, i - keyStart);
            i++;
            if (!TryParseValue(s, ref i, value, out error))
            {
                return false;
            }

            string text = value.ToString();
            bool fresh;
            if (key.Equals("By", StringComparison.OrdinalIgnoreCase))
            {
                fresh = Set(ref by, text);
            }
            else if (key.Equals("Hash", StringComparison.OrdinalIgnoreCase))
            {
                fresh = Set(ref hash, text);
            }
            else if (key.Equals("Cert", StringComparison.OrdinalIgnoreCase))
            {
                fresh = Set(ref cert, text);
            }
            else if (key.Equals("Chain", StringComparison.OrdinalIgnoreCase))
            {
                fresh = Set(ref chain, text);
            }
            else if (key.Equals("Subject", StringComparison.OrdinalIgnoreCase))
            {
                fresh = Set(ref subject, text);
            }
            else if (key.Equals("URI", StringComparison.OrdinalIgnoreCase))
            {
                fresh = Set(ref uri, text);
            }
            else if (key.Equals("DNS", StringComparison.OrdinalIgnoreCase))
            {
                (dns ??= []).Add(text);
                fresh = true;
            }
            else
            {
                error = "an unknown key (documented keys: By, Hash, Cert, Chain, Subject, URI, DNS)";
                return false;
            }

            if (!fresh)
            {
                error = "a key other than DNS appears twice in one element";
                return false;
            }

            if (i == s.Length || s[i] == ',')
            {
                element = new ForwardedClientCertificate(by, hash, cert, chain, subject, uri, dns is null ? [] : dns.AsReadOnly());
                error = null;
                return true;
            }

            if (s[i] != ';')
            {
                error = "a value is followed by something other than ';' or ','";
                return false;
            }

            i++;
        }
    }

    private static bool TryParseValue(string s, ref int i, StringBuilder value, [NotNullWhen(false)] out string? error)
    {
        value.Clear();
        if (i < s.Length && s[i] == '"')
        {
            i++;
            while (true)
            {
                if (i == s.Length)
                {
                    error = "an unterminated quoted value";
                    return false;
                }

                char c = s[i++];
                if (c == '"')
                {
                    error = null;
                    return true;
                }

                if (c == '\\')
                {
                    if (i == s.Length || (s[i] != '"' && s[i] != '\\'))
                    {
                        error = "a backslash in a quoted value escapes neither '\"' nor '\\'";
                        return false;
                    }

                    c = s[i++];
                }
                else if (char.IsControl(c))
                {
                    error = "a control character in a value";
                    return false;
                }

                value.Append(c);
            }
        }

        while (i < s.Length && s[i] is not (',' or ';'))
        {
            char c = s[i];
            if (c is '=' or '"' or '\\' || char.IsControl(c) || c == ' ')
            {
                error = "an unquoted value contains '=', '\"', '\\', a space or a control character";
                return false;
            }

            value.Append(c);
            i++;
        }

        error = null;
        return true;
    }

    private static bool Set(ref string? field, string text)
    {
        if (field is not null)
        {
            return false;
        }

        field = text;
        return true;
    }

    private static bool IsKeyChar(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z');

    // HTTP list syntax allows optional whitespace after the ',' that joins elements.
    private static void SkipListWhitespace(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t')
        {
            i++;
        }
    }
}

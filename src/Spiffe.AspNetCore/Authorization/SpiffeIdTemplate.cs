using System.Diagnostics.CodeAnalysis;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// A SPIFFE ID pattern such as <c>spiffe://example.org/ns/{ns}/sa/*</c>. Immutable and thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// The trust domain is literal (a pattern never spans trust domains). Each path segment is one of:
/// a literal (compared case-sensitively, as SPIFFE IDs are); <c>{name}</c>, which matches exactly
/// one segment and captures it under <c>name</c> (letters, digits, <c>_</c>; each name once);
/// <c>*</c>, which matches exactly one segment; or <c>**</c>, allowed only as the last segment,
/// which matches the rest of the path: zero or more segments. Wildcards match whole segments only
/// (<c>web-*</c> is an error, not a prefix).
/// </para>
/// <code>
/// var template = SpiffeIdTemplate.Parse("spiffe://example.org/ns/{ns}/sa/*");
/// template.TryMatch(SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web"), out var values); // true, values["ns"] == "prod"
/// </code>
/// </remarks>
public sealed class SpiffeIdTemplate
{
    private const string Scheme = "spiffe://";
    private static readonly IReadOnlyDictionary<string, string> s_noValues = new Dictionary<string, string>().AsReadOnly();

    private readonly TrustDomain _trustDomain;
    private readonly Segment[] _segments;
    private readonly bool _rest;
    private readonly string[] _variables;

    private SpiffeIdTemplate(string text, TrustDomain trustDomain, Segment[] segments, bool rest, string[] variables)
    {
        Text = text;
        _trustDomain = trustDomain;
        _segments = segments;
        _rest = rest;
        _variables = variables;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>The trust domain the pattern matches in.</summary>
    public TrustDomain TrustDomain => _trustDomain;

    /// <summary>The names of the <c>{name}</c> segments, in order.</summary>
    public IReadOnlyList<string> VariableNames => Array.AsReadOnly(_variables);

    /// <summary>Parses a pattern.</summary>
    /// <exception cref="FormatException">The pattern is malformed; the message says why.</exception>
    public static SpiffeIdTemplate Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return TryParse(template, out SpiffeIdTemplate? result, out string? error) ? result : throw new FormatException(error);
    }

    /// <summary>Parses a pattern without throwing; <paramref name="error"/> says why it is malformed.</summary>
    public static bool TryParse([NotNullWhen(true)] string? template, [NotNullWhen(true)] out SpiffeIdTemplate? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (template is null || !template.StartsWith(Scheme, StringComparison.Ordinal))
        {
            error = $"The SPIFFE ID pattern \"{template}\" does not start with {Scheme}.";
            return false;
        }

        int pathStart = template.IndexOf('/', Scheme.Length);
        string domain = pathStart < 0 ? template[Scheme.Length..] : template[Scheme.Length..pathStart];
        if (!TrustDomain.TryParse(domain, out TrustDomain? trustDomain))
        {
            error = $"The SPIFFE ID pattern \"{template}\" has an invalid trust domain \"{domain}\" (the trust domain is literal: no wildcards).";
            return false;
        }

        var segments = new List<Segment>();
        var variables = new List<string>();
        bool rest = false;
        if (pathStart >= 0)
        {
            string[] parts = template[(pathStart + 1)..].Split('/');
            for (int i = 0; i < parts.Length; i++)
            {
                string part = parts[i];
                if (rest)
                {
                    error = $"The SPIFFE ID pattern \"{template}\" has \"**\" before the last segment; \"**\" may only end a pattern.";
                    return false;
                }

                if (part == "**")
                {
                    rest = true;
                }
                else if (part == "*")
                {
                    segments.Add(new Segment(SegmentKind.Any, null));
                }
                else if (part.Length > 2 && part[0] == '{' && part[^1] == '}')
                {
                    string name = part[1..^1];
                    if (!name.All(static c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                    {
                        error = $"The SPIFFE ID pattern \"{template}\" has variable \"{name}\"; names use letters, digits and '_'.";
                        return false;
                    }

                    if (variables.Contains(name))
                    {
                        error = $"The SPIFFE ID pattern \"{template}\" names variable \"{name}\" twice.";
                        return false;
                    }

                    variables.Add(name);
                    segments.Add(new Segment(SegmentKind.Variable, name));
                }
                else if (!IsLiteral(part))
                {
                    error = part.Length == 0
                        ? $"The SPIFFE ID pattern \"{template}\" has an empty path segment."
                        : $"The SPIFFE ID pattern \"{template}\" has segment \"{part}\", which is neither a SPIFFE ID path segment (letters, digits, '-', '.', '_'; not '.' or '..') nor '*', '**' or '{{name}}'; wildcards match whole segments only.";
                    return false;
                }
                else
                {
                    segments.Add(new Segment(SegmentKind.Literal, part));
                }
            }
        }

        result = new SpiffeIdTemplate(template, trustDomain, [.. segments], rest, [.. variables]);
        error = null;
        return true;
    }

    /// <summary>Whether <paramref name="id"/> matches.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="id"/> is null.</exception>
    public bool IsMatch(SpiffeId id) => Match(id, null);

    /// <summary>Whether <paramref name="id"/> matches; on a match, <paramref name="values"/> holds the captured segments by variable name.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="id"/> is null.</exception>
    public bool TryMatch(SpiffeId id, [NotNullWhen(true)] out IReadOnlyDictionary<string, string>? values)
    {
        if (_variables.Length == 0)
        {
            values = Match(id, null) ? s_noValues : null;
            return values is not null;
        }

        var captured = new Dictionary<string, string>(_variables.Length, StringComparer.Ordinal);
        values = Match(id, captured) ? captured.AsReadOnly() : null;
        return values is not null;
    }

    /// <summary>The pattern as written.</summary>
    public override string ToString() => Text;

    private bool Match(SpiffeId id, Dictionary<string, string>? captured)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!id.MemberOf(_trustDomain))
        {
            return false;
        }

        string path = id.Path;
        int position = 0; // at a '/' or at the end
        foreach (Segment segment in _segments)
        {
            if (position >= path.Length)
            {
                return false;
            }

            int start = position + 1;
            int end = path.IndexOf('/', start);
            if (end < 0)
            {
                end = path.Length;
            }

            ReadOnlySpan<char> value = path.AsSpan(start, end - start);
            switch (segment.Kind)
            {
                case SegmentKind.Literal when !value.SequenceEqual(segment.Text):
                    return false;
                case SegmentKind.Variable:
                    captured?.Add(segment.Text!, value.ToString());
                    break;
            }

            position = end;
        }

        return _rest || position == path.Length;
    }

    private static bool IsLiteral(string part) =>
        part.Length > 0 && part != "." && part != ".."
        && part.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');

    private enum SegmentKind
    {
        Literal,
        Variable,
        Any,
    }

    private readonly record struct Segment(SegmentKind Kind, string? Text);
}

using System.Text.RegularExpressions;

namespace Spiffe.Docs.Tests;

/// <summary>A named region of example code: <c>// &lt;snippet:name&gt;</c> … <c>// &lt;/snippet&gt;</c>.</summary>
internal sealed record Snippet(string Name, string File, int Line, string Code);

/// <summary>
/// Keeps the C# in the docs identical to compiled code. Every <c>```csharp</c> block in a doc must be
/// preceded by <c>&lt;!-- snippet: name --&gt;</c> and equal, after removing the indentation its lines
/// share, the region of that name in the examples.
/// </summary>
internal static partial class SnippetChecker
{
    private const string EndMarker = "// </snippet>";

    [GeneratedRegex(@"^//\s*<snippet:\s*(?<name>[a-z0-9][a-z0-9-]*)\s*>$")]
    private static partial Regex StartMarker();

    [GeneratedRegex(@"^<!--\s*snippet:\s*(?<name>[^\s]+)\s*-->$")]
    private static partial Regex DocMarker();

    /// <summary>Reads the regions of example sources; problems (unclosed, nested, duplicate) go to <paramref name="problems"/>.</summary>
    public static Dictionary<string, Snippet> ReadSnippets(IEnumerable<(string File, string Text)> sources, List<string> problems)
    {
        var snippets = new Dictionary<string, Snippet>(StringComparer.Ordinal);
        foreach ((string file, string text) in sources)
        {
            string[] lines = SplitLines(text);
            string? name = null;
            int start = 0;
            for (int i = 0; i < lines.Length; i++)
            {
                string trimmed = lines[i].Trim();
                Match match = StartMarker().Match(trimmed);
                if (match.Success)
                {
                    if (name is not null)
                    {
                        problems.Add($"{file}:{i + 1}: snippet '{match.Groups["name"].Value}' starts inside snippet '{name}' (line {start}); close it first with '{EndMarker}'.");
                    }

                    name = match.Groups["name"].Value;
                    start = i + 1;
                }
                else if (trimmed == EndMarker)
                {
                    if (name is null)
                    {
                        problems.Add($"{file}:{i + 1}: '{EndMarker}' without a snippet start.");
                        continue;
                    }

                    var snippet = new Snippet(name, file, start, Normalize(lines[start..i]));
                    if (!snippets.TryAdd(name, snippet))
                    {
                        Snippet first = snippets[name];
                        problems.Add($"{file}:{start}: snippet '{name}' is defined twice (first in {first.File}:{first.Line}).");
                    }

                    name = null;
                }
            }

            if (name is not null)
            {
                problems.Add($"{file}:{start}: snippet '{name}' is never closed with '{EndMarker}'.");
            }
        }

        return snippets;
    }

    /// <summary>Checks every C# block of one doc; returns the names of the snippets it shows.</summary>
    public static IReadOnlyList<string> CheckDoc(string doc, string markdown, IReadOnlyDictionary<string, Snippet> snippets, List<string> problems)
    {
        var used = new List<string>();
        string[] lines = SplitLines(markdown);
        for (int i = 0; i < lines.Length; i++)
        {
            string trimmed = lines[i].TrimStart();
            if (!trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            string fence = new('`', trimmed.TakeWhile(c => c == '`').Count());
            string info = trimmed[fence.Length..].Trim();
            int open = i;
            int close = open + 1;
            while (close < lines.Length && !lines[close].TrimStart().StartsWith(fence, StringComparison.Ordinal))
            {
                close++;
            }

            i = close;
            if (!IsCSharp(info))
            {
                continue;
            }

            int markerLine = open - 1;
            while (markerLine >= 0 && lines[markerLine].Trim().Length == 0)
            {
                markerLine--;
            }

            Match marker = markerLine >= 0 ? DocMarker().Match(lines[markerLine].Trim()) : Match.Empty;
            if (!marker.Success)
            {
                problems.Add($"{doc}:{open + 1}: a ```{info} block without '<!-- snippet: name -->' on the line before it; put the code in a snippet region under tests/Spiffe.Docs.Tests/Examples and name it here.");
                continue;
            }

            string name = marker.Groups["name"].Value;
            used.Add(name);
            if (close >= lines.Length)
            {
                problems.Add($"{doc}:{open + 1}: the code block of snippet '{name}' is never closed.");
                continue;
            }

            if (!snippets.TryGetValue(name, out Snippet? snippet))
            {
                problems.Add($"{doc}:{open + 1}: snippet '{name}' does not exist in tests/Spiffe.Docs.Tests/Examples (no '// <snippet:{name}>' region).");
                continue;
            }

            string shown = Normalize(lines[(open + 1)..close]);
            if (!string.Equals(shown, snippet.Code, StringComparison.Ordinal))
            {
                problems.Add($"{doc}:{open + 1}: snippet '{name}' differs from {snippet.File}:{snippet.Line}: {Describe(shown, snippet.Code)}");
            }
        }

        return used;
    }

    /// <summary>Removes the indentation all non-blank lines share, trailing spaces, and blank lines at both ends.</summary>
    public static string Normalize(IReadOnlyList<string> lines)
    {
        var kept = lines.Select(l => l.TrimEnd()).ToList();
        while (kept.Count > 0 && kept[0].Length == 0)
        {
            kept.RemoveAt(0);
        }

        while (kept.Count > 0 && kept[^1].Length == 0)
        {
            kept.RemoveAt(kept.Count - 1);
        }

        int indent = kept.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', kept.Select(l => l.Length == 0 ? l : l[indent..]));
    }

    private static string Describe(string doc, string code)
    {
        string[] a = doc.Split('\n');
        string[] b = code.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            string? left = i < a.Length ? a[i] : null;
            string? right = i < b.Length ? b[i] : null;
            if (!string.Equals(left, right, StringComparison.Ordinal))
            {
                return $"first difference at line {i + 1} of the snippet: doc has {Show(left)}, code has {Show(right)}.";
            }
        }

        return "they differ."; // unreachable: equal line lists mean equal strings
    }

    private static string Show(string? line) => line is null ? "nothing (ends earlier)" : $"`{line}`";

    private static bool IsCSharp(string info) =>
        info.Split(' ', 2)[0].ToLowerInvariant() is "csharp" or "cs" or "c#";

    private static string[] SplitLines(string text) => text.ReplaceLineEndings("\n").Split('\n');
}

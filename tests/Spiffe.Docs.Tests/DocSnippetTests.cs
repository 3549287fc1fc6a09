namespace Spiffe.Docs.Tests;

/// <summary>The docs (docs/*.md, README.md) show exactly the code that compiles in Examples/, and every example is shown.</summary>
public sealed class DocSnippetTests
{
    [Fact]
    public void DocsCodeBlocks_EveryCSharpBlock_IsIdenticalToItsCompiledSnippet()
    {
        var problems = new List<string>();
        Dictionary<string, Snippet> snippets = ReadExampleSnippets(problems);
        string[] docs = Docs();
        Assert.NotEmpty(docs);

        foreach (string doc in docs.Order(StringComparer.Ordinal))
        {
            SnippetChecker.CheckDoc(Relative(doc), File.ReadAllText(doc), snippets, problems);
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void ExampleSnippets_EveryRegion_IsShownInADoc()
    {
        var problems = new List<string>();
        Dictionary<string, Snippet> snippets = ReadExampleSnippets(problems);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (string doc in Docs())
        {
            used.UnionWith(SnippetChecker.CheckDoc(Relative(doc), File.ReadAllText(doc), snippets, []));
        }

        Assert.NotEmpty(snippets);
        string[] unused = [.. snippets.Values.Where(s => !used.Contains(s.Name)).Select(s => $"{s.File}:{s.Line}: snippet '{s.Name}' is in no doc (docs/*.md, README.md).")];
        Assert.True(problems.Count == 0 && unused.Length == 0, string.Join(Environment.NewLine, problems.Concat(unused)));
    }

    [Fact]
    public void CheckDoc_BlockMatchesIndentedRegion_NoProblem()
    {
        var problems = new List<string>();
        var snippets = SnippetChecker.ReadSnippets([("Ex.cs", "class C\n{\n    void M()\n    {\n        // <snippet:demo>\n        if (x)\n        {\n            y();\n        }\n        // </snippet>\n    }\n}\n")], problems);
        const string Doc = "# T\n\n- item:\n\n  <!-- snippet: demo -->\n  ```csharp\n  if (x)\n  {\n      y();\n  }\n  ```\n";

        IReadOnlyList<string> used = SnippetChecker.CheckDoc("docs/t.md", Doc, snippets, problems);

        Assert.Empty(problems);
        Assert.Equal(["demo"], used);
    }

    [Fact]
    public void CheckDoc_BlockDriftedFromRegion_FailsNamingDocSnippetAndDifference()
    {
        var problems = new List<string>();
        var snippets = SnippetChecker.ReadSnippets([("Ex.cs", "// <snippet:demo>\nvar a = 1;\nvar b = 2;\n// </snippet>\n")], problems);
        const string Doc = "<!-- snippet: demo -->\n```csharp\nvar a = 1;\nvar b = 3;\n```\n";

        SnippetChecker.CheckDoc("docs/t.md", Doc, snippets, problems);

        string problem = Assert.Single(problems);
        Assert.Contains("docs/t.md:2", problem, StringComparison.Ordinal);
        Assert.Contains("'demo'", problem, StringComparison.Ordinal);
        Assert.Contains("Ex.cs:1", problem, StringComparison.Ordinal);
        Assert.Contains("doc has `var b = 3;`, code has `var b = 2;`", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckDoc_BlockWithoutMarker_Fails()
    {
        var problems = new List<string>();

        SnippetChecker.CheckDoc("docs/t.md", "text\n\n```csharp\nvar a = 1;\n```\n\n```bash\nls\n```\n", new Dictionary<string, Snippet>(), problems);

        Assert.Contains("docs/t.md:3: a ```csharp block without", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckDoc_MarkerNamesUnknownSnippet_Fails()
    {
        var problems = new List<string>();

        SnippetChecker.CheckDoc("docs/t.md", "<!-- snippet: missing -->\n```cs\nx();\n```\n", new Dictionary<string, Snippet>(), problems);

        Assert.Contains("snippet 'missing' does not exist", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckDoc_DocBlockLongerThanRegion_NamesTheExtraLine()
    {
        var problems = new List<string>();
        var snippets = SnippetChecker.ReadSnippets([("Ex.cs", "// <snippet:demo>\nvar a = 1;\n// </snippet>\n")], problems);

        SnippetChecker.CheckDoc("docs/t.md", "<!-- snippet: demo -->\n```csharp\nvar a = 1;\nvar b = 2;\n```\n", snippets, problems);

        Assert.Contains("doc has `var b = 2;`, code has nothing (ends earlier)", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadSnippets_UnclosedNestedOrDuplicateRegions_AreReported()
    {
        var problems = new List<string>();

        SnippetChecker.ReadSnippets(
        [
            ("A.cs", "// <snippet:one>\nx();\n// </snippet>\n// <snippet:two>\n// <snippet:three>\n"),
            ("B.cs", "// <snippet:one>\ny();\n// </snippet>\n// </snippet>\n"),
        ], problems);

        Assert.Contains(problems, p => p.Contains("starts inside snippet 'two'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'three' is never closed", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'one' is defined twice (first in A.cs:1)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("B.cs:4: '// </snippet>' without a snippet start", StringComparison.Ordinal));
    }

    internal static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The documents whose C# blocks must be compiled snippets: docs/*.md, the README, the package READMEs (src/*/README.md) and the samples' READMEs.</summary>
    private static string[] Docs() =>
        [
            .. Directory.GetFiles(Path.Combine(RepositoryRoot, "docs"), "*.md"),
            Path.Combine(RepositoryRoot, "README.md"),
            .. Directory.GetDirectories(Path.Combine(RepositoryRoot, "src")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists),
            .. Directory.GetDirectories(Path.Combine(RepositoryRoot, "samples")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists),
        ];

    private static Dictionary<string, Snippet> ReadExampleSnippets(List<string> problems)
    {
        string examples = Path.Combine(RepositoryRoot, "tests", "Spiffe.Docs.Tests", "Examples");
        var sources = Directory.GetFiles(examples, "*.cs").Order(StringComparer.Ordinal).Select(f => (Relative(f), File.ReadAllText(f)));
        return SnippetChecker.ReadSnippets(sources, problems);
    }

    private static string Relative(string path) => Path.GetRelativePath(RepositoryRoot, path).Replace('\\', '/');

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Spiffe.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Spiffe.sln above {AppContext.BaseDirectory}: the docs tests read docs/ and Examples/ from the repository.");
    }
}

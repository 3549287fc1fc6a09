using BenchmarkDotNet.Attributes;
using Spiffe;

namespace Spiffe.Benchmarks;

/// <summary>
/// Parsing the typical ID <c>spiffe://example.org/ns/prod/sa/web</c>. Target: at most 25 ns and
/// no allocation beyond the result. The baseline is <see cref="Uri.TryCreate(string, UriKind, out Uri)"/>,
/// the general-purpose parser a user would otherwise reach for (it validates far less).
/// </summary>
[MemoryDiagnoser]
public class SpiffeIdParseBenchmarks
{
    private readonly string _id = "spiffe://example.org/ns/prod/sa/web";

    [Benchmark(Baseline = true)]
    public Uri? SystemUri() => Uri.TryCreate(_id, UriKind.Absolute, out Uri? uri) ? uri : null;

    [Benchmark]
    public SpiffeId Parse() => SpiffeId.Parse(_id);

    [Benchmark]
    public SpiffeId? TryParse() => SpiffeId.TryParse(_id, out SpiffeId? id) ? id : null;

    [Benchmark]
    public SpiffeId ParseSpan() => SpiffeId.Parse(_id.AsSpan());
}

using BenchmarkDotNet.Attributes;
using Spiffe;
using Spiffe.AspNetCore.Authorization;

namespace Spiffe.Benchmarks;

/// <summary>
/// One evaluation of a 100-rule SPIFFE rule set (<c>Spiffe:Authorization:Rules</c>, compiled once):
/// 10 DENY and 90 ALLOW rules mixing SPIFFE IDs, Istio principals (exact and prefix), patterns and
/// trust domains, with method lists and exact/prefix/suffix paths. Target (issue 11): ≤ 1 µs per
/// evaluation and 0 bytes allocated. Baseline: <see cref="SpiffeIdAuthorizer.OneOf"/> over the same
/// 100 IDs, the SDK's cheapest existing ID check (it looks at the caller only).
/// </summary>
[MemoryDiagnoser]
public class SpiffeRuleSetBenchmarks
{
    private SpiffeRuleSet _rules = null!;
    private SpiffeIdAuthorizer _authorizer = null!;
    private SpiffeId _lastAllowCaller = null!;
    private SpiffeId _unknownCaller = null!;
    private SpiffeId _firstDenyCaller = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new SpiffeAuthorizationRuleOptions();
        var ids = new List<SpiffeId>();
        for (int i = 0; i < 100; i++)
        {
            var id = SpiffeId.Parse($"spiffe://example.org/ns/n{i}/sa/s{i}");
            ids.Add(id);
            options.Rules.Add(new SpiffeAuthorizationRule
            {
                Action = i % 10 == 0 ? "DENY" : "ALLOW",
                Principals = (i % 4) switch
                {
                    0 => [id.ToString()],
                    1 => [$"example.org/ns/n{i}/sa/s{i}", $"partner{i}.org"],
                    2 => [$"spiffe://example.org/ns/n{i}/sa/*"],
                    _ => [$"example.org/ns/n{i}/*", id.ToString()],
                },
                Methods = i % 3 == 0 ? ["*"] : ["POST", "PUT"],
                Paths = (i % 3) switch
                {
                    0 => [$"/v1/r{i}"],
                    1 => [$"/v1/r{i}/*"],
                    _ => [$"*/r{i}/status", $"/v2/r{i}/*"],
                },
            });
        }

        if (!SpiffeRuleSet.TryCompile(options, out SpiffeRuleSet? rules, out string? error))
        {
            throw new InvalidOperationException(error);
        }

        _rules = rules;
        _authorizer = SpiffeIdAuthorizer.OneOf(ids);
        _lastAllowCaller = ids[99];
        _firstDenyCaller = ids[0];
        _unknownCaller = SpiffeId.Parse("spiffe://example.org/ns/other/sa/other");
        if (!AllowLast() || NoMatch() || !FirstDeny())
        {
            throw new InvalidOperationException("The benchmark's rule set does not decide as intended.");
        }
    }

    [Benchmark(Baseline = true)]
    public bool AuthorizerOneOf100() => _authorizer.IsAuthorized(_lastAllowCaller);

    /// <summary>The caller of the last rule: every DENY rule and 89 ALLOW rules are checked first.</summary>
    [Benchmark]
    public bool AllowLast() => _rules.Evaluate(_lastAllowCaller, "POST", "/v1/r99").Allowed;

    /// <summary>No rule matches: all 100 rules are checked (the deny-by-default path).</summary>
    [Benchmark]
    public bool NoMatch() => _rules.Evaluate(_unknownCaller, "POST", "/v1/r99").Allowed;

    /// <summary>The first DENY rule matches.</summary>
    [Benchmark]
    public bool FirstDeny() => !_rules.Evaluate(_firstDenyCaller, "GET", "/v1/r0").Allowed;
}

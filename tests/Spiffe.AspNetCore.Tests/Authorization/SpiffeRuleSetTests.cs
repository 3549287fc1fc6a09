using Spiffe.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Tests.Authorization;

/// <summary>
/// The rule set's matching, as a table drawn from Istio AuthorizationPolicy's documented semantics:
/// DENY before ALLOW, deny when nothing allows; fields of a rule ANDed, values of a field ORed, an
/// absent field matches anything; values exact, prefix <c>abc*</c> (matches <c>abc</c> too), suffix
/// <c>*abc</c> (matches <c>abc</c> too) or presence <c>*</c> (any non-empty value); principals are
/// SPIFFE IDs without <c>spiffe://</c>. Plus this SDK's additions (SPIFFE IDs, patterns, trust
/// domains) and its one deliberate difference: no ALLOW rule means deny.
/// </summary>
public sealed class SpiffeRuleSetTests
{
    private const string Checkout = "spiffe://cluster.local/ns/payments/sa/checkout-service";

    // Each rule is "ACTION|principals|methods|paths" with ';' between values and '-' for an absent field.
    [Theory]
    // Istio's evaluation order.
    [InlineData(new[] { "ALLOW|cluster.local/ns/payments/sa/checkout-service|POST|/v1/payments" }, Checkout, "POST", "/v1/payments", true, 0)]
    [InlineData(new[] { "ALLOW|cluster.local/ns/payments/sa/checkout-service|POST|/v1/payments" }, Checkout, "GET", "/v1/payments", false, -1)]
    [InlineData(new[] { "ALLOW|-|-|-", "DENY|-|-|/admin" }, Checkout, "GET", "/admin", false, 1)] // a DENY match wins whatever its position
    [InlineData(new[] { "DENY|-|-|/admin" }, Checkout, "GET", "/other", false, -1)] // no ALLOW rule: deny (Istio would allow)
    [InlineData(new string[0], Checkout, "GET", "/", false, -1)] // empty set: deny everything
    [InlineData(new[] { "ALLOW|-|-|-" }, Checkout, "DELETE", "/anything", true, 0)] // an empty rule matches every request
    [InlineData(new[] { "ALLOW|spiffe://cluster.local/ns/x/sa/y|-|-", "ALLOW|-|GET|-" }, Checkout, "GET", "/", true, 1)] // the first matching ALLOW is reported
    [InlineData(new[] { "DENY|-|GET|-", "DENY|-|-|/a" }, Checkout, "GET", "/a", false, 0)] // the first matching DENY is reported
    // Fields ANDed, values ORed.
    [InlineData(new[] { "ALLOW|cluster.local/ns/payments/sa/checkout-service|GET|/other" }, Checkout, "GET", "/v1/payments", false, -1)]
    [InlineData(new[] { "ALLOW|spiffe://cluster.local/ns/x/sa/y;cluster.local/ns/payments/sa/checkout-service|PUT;POST|/a;/v1/payments" }, Checkout, "POST", "/v1/payments", true, 0)]
    // Principals.
    [InlineData(new[] { "ALLOW|*|-|-" }, Checkout, "GET", "/", true, 0)] // presence: any authenticated caller
    [InlineData(new[] { "ALLOW|" + Checkout + "|-|-" }, Checkout, "GET", "/", true, 0)] // a SPIFFE ID
    [InlineData(new[] { "ALLOW|spiffe://cluster.local/ns/payments/sa/checkout|-|-" }, Checkout, "GET", "/", false, -1)] // exact, not a prefix
    [InlineData(new[] { "ALLOW|cluster.local/ns/payments/*|-|-" }, Checkout, "GET", "/", true, 0)] // Istio prefix
    [InlineData(new[] { "ALLOW|cluster.local/ns/pay*|-|-" }, Checkout, "GET", "/", true, 0)] // Istio prefix is a string prefix
    [InlineData(new[] { "ALLOW|cluster.local/ns/payments/sa/checkout-service*|-|-" }, Checkout, "GET", "/", true, 0)] // abc* matches abc
    [InlineData(new[] { "ALLOW|cluster.local/ns/billing/*|-|-" }, Checkout, "GET", "/", false, -1)]
    [InlineData(new[] { "ALLOW|*/sa/checkout-service|-|-" }, Checkout, "GET", "/", true, 0)] // Istio suffix
    [InlineData(new[] { "ALLOW|*/sa/checkout-service|-|-" }, "spiffe://evil.org/ns/payments/sa/checkout-service", "GET", "/", true, 0)] // a suffix spans trust domains, as in Istio
    [InlineData(new[] { "ALLOW|*cluster.local/ns/payments/sa/checkout-service|-|-" }, Checkout, "GET", "/", true, 0)] // *abc matches abc
    [InlineData(new[] { "ALLOW|cluster.local|-|-" }, Checkout, "GET", "/", true, 0)] // a trust domain name
    [InlineData(new[] { "ALLOW|cluster.local|-|-" }, "spiffe://cluster.local.evil/ns/x", "GET", "/", false, -1)] // whole trust domain names only
    [InlineData(new[] { "ALLOW|spiffe://cluster.local/ns/{ns}/sa/checkout-service|-|-" }, Checkout, "GET", "/", true, 0)] // a pattern
    [InlineData(new[] { "ALLOW|spiffe://cluster.local/ns/*/sa/web|-|-" }, Checkout, "GET", "/", false, -1)]
    [InlineData(new[] { "ALLOW|spiffe://cluster.local/**|-|-" }, Checkout, "GET", "/", true, 0)]
    // Methods: exact and case-sensitive, or '*'.
    [InlineData(new[] { "ALLOW|-|*|-" }, Checkout, "PROPFIND", "/", true, 0)]
    [InlineData(new[] { "ALLOW|-|PROPFIND|-" }, Checkout, "PROPFIND", "/", true, 0)]
    [InlineData(new[] { "ALLOW|-|PROPFIND|-" }, Checkout, "GET", "/", false, -1)]
    [InlineData(new[] { "ALLOW|-|GET|-" }, Checkout, "get", "/", false, -1)]
    [InlineData(new[] { "ALLOW|-|GET;HEAD|-" }, Checkout, "HEAD", "/", true, 0)]
    // Paths: exact, prefix, suffix, presence.
    [InlineData(new[] { "ALLOW|-|-|/v1/payments" }, Checkout, "GET", "/v1/payments/1", false, -1)]
    [InlineData(new[] { "ALLOW|-|-|/v1/payments" }, Checkout, "GET", "/V1/payments", false, -1)] // case-sensitive
    [InlineData(new[] { "ALLOW|-|-|/v1/*" }, Checkout, "GET", "/v1/payments/1", true, 0)]
    [InlineData(new[] { "ALLOW|-|-|/v1/*" }, Checkout, "GET", "/v1/", true, 0)] // abc* matches abc
    [InlineData(new[] { "ALLOW|-|-|/v1/*" }, Checkout, "GET", "/v1", false, -1)]
    [InlineData(new[] { "ALLOW|-|-|/v1*" }, Checkout, "GET", "/v10/x", true, 0)] // a string prefix, not a segment prefix
    [InlineData(new[] { "ALLOW|-|-|*/status" }, Checkout, "GET", "/v1/status", true, 0)]
    [InlineData(new[] { "ALLOW|-|-|*/status" }, Checkout, "GET", "/status", true, 0)]
    [InlineData(new[] { "ALLOW|-|-|*/status" }, Checkout, "GET", "/v1/status/x", false, -1)]
    [InlineData(new[] { "ALLOW|-|-|*" }, Checkout, "GET", "/", true, 0)]
    [InlineData(new[] { "ALLOW|-|-|*" }, Checkout, "GET", "", false, -1)] // presence: not empty
    public void Evaluate_IstioSemantics_Decides(string[] rules, string caller, string method, string path, bool allowed, int ruleIndex)
    {
        SpiffeRuleSet set = Compile(rules);

        SpiffeRuleDecision decision = set.Evaluate(SpiffeId.Parse(caller), method, path);

        Assert.Equal(new SpiffeRuleDecision(allowed, ruleIndex), decision);
    }

    [Theory]
    [InlineData("PERMIT|-|-|-", "Spiffe:Authorization:Rules:0:Action", "use ALLOW or DENY")]
    [InlineData("|-|-|-", "Spiffe:Authorization:Rules:0:Action", "use ALLOW or DENY")]
    [InlineData("ALLOW|spiffe://Cluster.local/x|-|-", "Spiffe:Authorization:Rules:0:Principals:0", "not a SPIFFE ID")]
    [InlineData("ALLOW|spiffe://cluster.local|-|-", "Spiffe:Authorization:Rules:0:Principals:0", "names a trust domain")]
    [InlineData("ALLOW|spiffe://cluster.local/web-*|-|-", "Spiffe:Authorization:Rules:0:Principals:0", "whole segments")]
    [InlineData("ALLOW|cluster.local/ns/*/sa/x|-|-", "Spiffe:Authorization:Rules:0:Principals:0", "'*' inside")]
    [InlineData("ALLOW|cluster.local/ns//x|-|-", "Spiffe:Authorization:Rules:0:Principals:0", "not an Istio principal")]
    [InlineData("ALLOW|not a domain|-|-", "Spiffe:Authorization:Rules:0:Principals:0", "not a trust domain name")]
    [InlineData("ALLOW|-|get|-", "Spiffe:Authorization:Rules:0:Methods:0", "case-sensitive")]
    [InlineData("ALLOW|-|-|v1/*", "Spiffe:Authorization:Rules:0:Paths:0", "does not start with '/'")]
    [InlineData("ALLOW|-|-|/v1/*/x", "Spiffe:Authorization:Rules:0:Paths:0", "'*' inside")]
    [InlineData("ALLOW|-|-|/v1?x=1", "Spiffe:Authorization:Rules:0:Paths:0", "query")]
    public void TryCompile_InvalidRule_ErrorNamesTheKey(string rule, string key, string expected)
    {
        var options = new SpiffeAuthorizationRuleOptions { Rules = [Rule(rule)] };

        Assert.False(SpiffeRuleSet.TryCompile(options, out _, out string? error));

        Assert.StartsWith(key + ":", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCompile_UnknownField_Rejected()
    {
        SpiffeAuthorizationRule rule = Rule("ALLOW|-|-|-");
        rule.UnknownKeys.Add("Principal");
        var options = new SpiffeAuthorizationRuleOptions { Rules = [Rule("DENY|-|-|/x"), rule] };

        Assert.False(SpiffeRuleSet.TryCompile(options, out _, out string? error));

        Assert.StartsWith("Spiffe:Authorization:Rules:1:Principal:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_HundredRules_AllocatesNothing()
    {
        SpiffeRuleSet set = Compile([.. Enumerable.Range(0, 100).Select(i => $"{(i % 10 == 0 ? "DENY" : "ALLOW")}|spiffe://example.org/ns/n{i}/sa/s{i};cluster.local/ns/n{i}/*|POST;PUT|/v1/r{i}/*")]);
        var caller = SpiffeId.Parse("spiffe://example.org/ns/n99/sa/s99");
        Assert.True(set.Evaluate(caller, "POST", "/v1/r99/x").Allowed); // warm (SpiffeId.Path is cached on first use)

        long before = GC.GetAllocatedBytesForCurrentThread();
        SpiffeRuleDecision decision = default;
        for (int i = 0; i < 100; i++)
        {
            decision = set.Evaluate(caller, "POST", "/v1/r99/x");
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(new SpiffeRuleDecision(true, 99), decision);
    }

    internal static SpiffeRuleSet Compile(IEnumerable<string> rules)
    {
        var options = new SpiffeAuthorizationRuleOptions { Rules = [.. rules.Select(Rule)] };
        Assert.True(SpiffeRuleSet.TryCompile(options, out SpiffeRuleSet? set, out string? error), error);
        return set;
    }

    private static SpiffeAuthorizationRule Rule(string text)
    {
        string[] parts = text.Split('|');
        return new SpiffeAuthorizationRule
        {
            Action = parts[0],
            Principals = Values(parts[1]),
            Methods = Values(parts[2]),
            Paths = Values(parts[3]),
        };

        static List<string> Values(string field) => field == "-" ? [] : [.. field.Split(';')];
    }
}

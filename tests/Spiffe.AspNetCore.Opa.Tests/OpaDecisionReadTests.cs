using Microsoft.Extensions.Time.Testing;

namespace Spiffe.AspNetCore.Opa.Tests;

/// <summary>Reading OPA's Data API answer (result boolean or {allow, reason}; no result = undefined) and the decision cache's bounds.</summary>
public sealed class OpaDecisionReadTests
{
    [Theory]
    [InlineData("{\"result\":true}", OpaDecisionOutcome.Allowed, null, null)]
    [InlineData("{\"result\":false,\"decision_id\":\"d-1\"}", OpaDecisionOutcome.Denied, "d-1", null)]
    [InlineData("{\"decision_id\":\"d-2\",\"result\":{\"allow\":true}}", OpaDecisionOutcome.Allowed, "d-2", null)]
    [InlineData("{\"result\":{\"allow\":false,\"reason\":\"nope\"}}", OpaDecisionOutcome.Denied, null, "nope")]
    [InlineData("{\"result\":{\"allow\":false,\"reason\":42}}", OpaDecisionOutcome.Denied, null, null)]
    [InlineData("{}", OpaDecisionOutcome.Undefined, null, "undefined decision")]
    [InlineData("{\"decision_id\":\"d-3\"}", OpaDecisionOutcome.Undefined, "d-3", "undefined decision")]
    [InlineData("{\"result\":true,\"metrics\":{\"timer_rego_query_eval_ns\":1},\"provenance\":{}}", OpaDecisionOutcome.Allowed, null, null)]
    public void Read_DocumentedAnswers_Decision(string json, OpaDecisionOutcome outcome, string? decisionId, string? reason)
    {
        OpaDecision decision = OpaDecisionPoint.Read(System.Text.Encoding.UTF8.GetBytes(json));

        Assert.Equal(outcome, decision.Outcome);
        Assert.Equal(decisionId, decision.DecisionId);
        Assert.Equal(reason, decision.Reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"result\": tru")]
    [InlineData("[true]")]
    [InlineData("true")]
    [InlineData("{\"result\":\"yes\"}")]
    [InlineData("{\"result\":1}")]
    [InlineData("{\"result\":null}")]
    [InlineData("{\"result\":[true]}")]
    [InlineData("{\"result\":{\"reason\":\"no allow\"}}")]
    [InlineData("{\"result\":{\"allow\":\"true\"}}")]
    [InlineData("{\"result\":true,\"decision_id\":7}")]
    [InlineData("{\"result\":true} {\"result\":false}")]
    public void Read_MalformedAnswers_Unavailable(string json)
    {
        OpaDecision decision = OpaDecisionPoint.Read(System.Text.Encoding.UTF8.GetBytes(json));

        Assert.Equal(OpaDecisionOutcome.Unavailable, decision.Outcome);
        Assert.StartsWith("malformed answer", decision.Reason, StringComparison.Ordinal);
        Assert.False(decision.Cacheable);
    }

    [Fact]
    public void Set_BeyondCapacity_StaysBounded()
    {
        var cache = new OpaDecisionCache(100, TimeSpan.FromMinutes(1), new FakeTimeProvider());

        for (int i = 0; i < 10_000; i++)
        {
            cache.Set(Key(i), new OpaDecision(OpaDecisionOutcome.Denied, null, null));
            Assert.True(cache.Count <= 100);
        }

        Assert.True(cache.TryGet(Key(9_999), out _));
    }

    [Fact]
    public void TryGet_AfterTtl_Miss()
    {
        var clock = new FakeTimeProvider();
        var cache = new OpaDecisionCache(10, TimeSpan.FromSeconds(5), clock);
        cache.Set(Key(1), new OpaDecision(OpaDecisionOutcome.Allowed, "d", null));

        Assert.True(cache.TryGet(Key(1), out OpaDecision? hit));
        Assert.Equal("d", hit.DecisionId);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(cache.TryGet(Key(1), out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Set_ZeroTtl_Disabled()
    {
        var cache = new OpaDecisionCache(10, TimeSpan.Zero, new FakeTimeProvider());

        cache.Set(Key(1), new OpaDecision(OpaDecisionOutcome.Allowed, null, null));

        Assert.False(cache.TryGet(Key(1), out _));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8181", "http/authz/allow", "http://127.0.0.1:8181/v1/data/http/authz/allow")]
    [InlineData("http://127.0.0.1:8181/", "/http/authz/allow/", "http://127.0.0.1:8181/v1/data/http/authz/allow")]
    [InlineData("https://gateway.example.org/opa/", "payments/allow", "https://gateway.example.org/opa/v1/data/payments/allow")]
    public void DecisionUri_EndpointAndPath_DataApiAddress(string endpoint, string path, string expected)
    {
        Assert.Equal(new Uri(expected), OpaDecisionPoint.DecisionUri(new Uri(endpoint), path));
    }

    private static OpaDecisionKey Key(int i) => new("spiffe://example.org/w", "GET", "/r", (UInt128)i);
}

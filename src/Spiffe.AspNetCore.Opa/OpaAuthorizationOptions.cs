namespace Spiffe.AspNetCore.Opa;

/// <summary>
/// Where and how <see cref="OpaServiceCollectionExtensions.AddOpaAuthorization"/> asks Open Policy
/// Agent for decisions (OPA's Data API: <c>POST {Endpoint}/v1/data/{DecisionPath}</c> with <c>{"input": …}</c>).
/// </summary>
public sealed class OpaAuthorizationOptions
{
    /// <summary>OPA's base address, e.g. <c>http://127.0.0.1:8181/</c> (a sidecar). Required; http or https.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// The rule to evaluate, as a path under <c>/v1/data/</c> (package path with <c>/</c>, then the rule):
    /// <c>http/authz/allow</c> evaluates <c>data.http.authz.allow</c>. Default <c>http/authz/allow</c>.
    /// </summary>
    public string DecisionPath { get; set; } = "http/authz/allow";

    /// <summary>How long one query may take before it counts as a PDP failure (503). Default 500 ms.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a decision (allow or deny) is reused for the same question; <see cref="TimeSpan.Zero"/> disables the cache. Default 10 s.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most decisions kept; when full, expired ones and then an arbitrary tenth are dropped. Default 10 000.</summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>
    /// Request headers copied into <c>input.request.headers</c> (names compared case-insensitively,
    /// written lower-case). None by default: only what the policy needs, since every distinct value
    /// is a distinct cached question. <c>Authorization</c> and <c>Cookie</c> are never sent.
    /// </summary>
    public IList<string> Headers { get; } = [];

    /// <summary>Circuit breaker: the failure ratio within <see cref="BreakerSamplingDuration"/> that opens it. Default 0.5.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Circuit breaker: the fewest queries in the sampling window before it may open (at least 2). Default 10.</summary>
    public int BreakerMinimumThroughput { get; set; } = 10;

    /// <summary>Circuit breaker: the window over which failures are counted (at least 500 ms). Default 30 s.</summary>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Circuit breaker: how long it stays open, answering 503 at once without calling OPA (at least 500 ms);
    /// also the <c>Retry-After</c> of those answers. Default 5 s.
    /// </summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}

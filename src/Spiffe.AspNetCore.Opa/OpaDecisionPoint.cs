using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Spiffe.AspNetCore.Opa;

/// <summary>
/// Asks OPA (Data API) and remembers: cache first; one query in flight per identical question, shared
/// by everyone asking it; Polly's circuit breaker around a per-query timeout, so that a dead OPA costs
/// each request nothing once the breaker is open. Every failure is a <see cref="OpaDecisionOutcome.Unavailable"/>
/// decision, never an exception.
/// </summary>
internal sealed class OpaDecisionPoint
{
    /// <summary>The name of the <c>HttpClient</c> (IHttpClientFactory) used to reach OPA.</summary>
    public const string HttpClientName = "Spiffe.AspNetCore.Opa";

    // An OPA answer larger than this is not a decision this library reads.
    private const int MaxResponseBytes = 1024 * 1024;
    private static readonly MediaTypeHeaderValue s_json = new("application/json");

    private readonly IHttpClientFactory _clients;
    private readonly ILogger _logger;
    private readonly Uri _decisionUri;
    private readonly ResiliencePipeline<OpaDecision> _pipeline;
    private readonly ConcurrentDictionary<OpaDecisionKey, Lazy<Task<OpaDecision>>> _inFlight = new();
    private readonly TimeSpan _breakDuration;
    private readonly TimeSpan _timeout;
    private long _queries;

    public OpaDecisionPoint(IHttpClientFactory clients, IOptions<OpaAuthorizationOptions> options, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        OpaAuthorizationOptions o = options.Value;
        time ??= TimeProvider.System;
        _clients = clients;
        _logger = loggerFactory.CreateLogger("Spiffe.AspNetCore.Opa");
        _decisionUri = DecisionUri(o.Endpoint!, o.DecisionPath);
        _breakDuration = o.BreakDuration;
        _timeout = o.Timeout;
        Cache = new OpaDecisionCache(o.CacheSize, o.CacheTtl, time);
        Headers = NormalizeHeaders(o.Headers);
        _pipeline = new ResiliencePipelineBuilder<OpaDecision> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<OpaDecision>
            {
                FailureRatio = o.BreakerFailureRatio,
                MinimumThroughput = o.BreakerMinimumThroughput,
                SamplingDuration = o.BreakerSamplingDuration,
                BreakDuration = o.BreakDuration,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is not null || args.Outcome.Result?.Outcome == OpaDecisionOutcome.Unavailable),
                OnOpened = args =>
                {
                    OpaAuthorizationLog.CircuitOpened(_logger, _decisionUri, args.BreakDuration);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    OpaAuthorizationLog.CircuitClosed(_logger, _decisionUri);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(o.Timeout)
            .Build();
    }

    public OpaDecisionCache Cache { get; }

    /// <summary>The allow-listed header names, lower-case, without credentials.</summary>
    public IReadOnlyList<string> Headers { get; }

    /// <summary>Queries sent to OPA so far (for tests and benchmarks).</summary>
    public long Queries => Interlocked.Read(ref _queries);

    public Uri DecisionUri() => _decisionUri;

    /// <summary>Test hook: called each time a request starts or joins a query in flight (never on a cache hit).</summary>
    internal Action<OpaDecisionKey>? JoinedInFlight { get; set; }

    /// <summary>The decision for <paramref name="key"/>: cached, shared with an identical query in flight, or asked now.</summary>
    public async ValueTask<(OpaDecision Decision, bool CacheHit)> DecideAsync(OpaDecisionKey key, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (Cache.TryGet(key, out OpaDecision? cached))
        {
            return (cached, true);
        }

        var mine = new Lazy<Task<OpaDecision>>(() => QueryAndRememberAsync(key, body), LazyThreadSafetyMode.ExecutionAndPublication);
        Lazy<Task<OpaDecision>> shared = _inFlight.GetOrAdd(key, mine);
        JoinedInFlight?.Invoke(key);

        // The shared query runs on its own timeout, not on this request's token: one caller going away
        // must not fail the others waiting for the same answer.
        OpaDecision decision = await shared.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        return (decision, false);
    }

    private async Task<OpaDecision> QueryAndRememberAsync(OpaDecisionKey key, ReadOnlyMemory<byte> body)
    {
        try
        {
            OpaDecision decision = await QueryAsync(body).ConfigureAwait(false);
            if (decision.Cacheable)
            {
                Cache.Set(key, decision);
            }

            return decision;
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }

    private async Task<OpaDecision> QueryAsync(ReadOnlyMemory<byte> body)
    {
        OpaDecision decision;
        try
        {
            decision = await _pipeline.ExecuteAsync(
                static (state, ct) => state.Self.SendAsync(state.Body, ct),
                (Self: this, Body: body),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (BrokenCircuitException e)
        {
            // Open: no query at all, so a dead PDP adds nothing to the request's latency.
            return OpaDecision.Unavailable("circuit open", e.RetryAfter ?? _breakDuration);
        }
        catch (TimeoutRejectedException)
        {
            decision = OpaDecision.Unavailable($"no answer within {_timeout.TotalMilliseconds:0} ms", RetryAfterOne);
        }
        catch (HttpRequestException e)
        {
            decision = OpaDecision.Unavailable("unreachable: " + e.Message, RetryAfterOne);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            decision = OpaDecision.Unavailable("failed: " + e.Message, RetryAfterOne);
        }

        if (decision.Outcome == OpaDecisionOutcome.Unavailable)
        {
            OpaAuthorizationLog.Unavailable(_logger, _decisionUri, decision.Reason ?? "unknown");
        }

        return decision;
    }

    private static TimeSpan RetryAfterOne => TimeSpan.FromSeconds(1);

    private async ValueTask<OpaDecision> SendAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _queries);
        HttpClient client = _clients.CreateClient(HttpClientName);
        using var content = new ReadOnlyMemoryContent(body);
        content.Headers.ContentType = s_json;
        using var request = new HttpRequestMessage(HttpMethod.Post, _decisionUri) { Content = content };
        using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return OpaDecision.Unavailable($"HTTP {(int)response.StatusCode}", RetryAfterOne);
        }

        if (response.Content.Headers.ContentLength > MaxResponseBytes)
        {
            return OpaDecision.Unavailable("answer too large", RetryAfterOne);
        }

        byte[] bytes;
        using (Stream stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
        using (var copy = new MemoryStream())
        {
            byte[] chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (copy.Length + read > MaxResponseBytes)
                {
                    return OpaDecision.Unavailable("answer too large", RetryAfterOne);
                }

                copy.Write(chunk, 0, read);
            }

            bytes = copy.ToArray();
        }

        return Read(bytes);
    }

    /// <summary>
    /// Reads a Data API answer: an object whose <c>result</c> is a boolean, or an object with a boolean
    /// <c>allow</c> (and an optional string <c>reason</c>); no <c>result</c> member is an undefined
    /// document. Anything else is malformed.
    /// </summary>
    internal static OpaDecision Read(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                return OpaDecision.Unavailable("malformed answer: trailing data", RetryAfterOne);
            }

            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return OpaDecision.Unavailable("malformed answer: not a JSON object", RetryAfterOne);
            }

            string? decisionId = null;
            if (root.TryGetProperty("decision_id", out JsonElement id))
            {
                if (id.ValueKind != JsonValueKind.String)
                {
                    return OpaDecision.Unavailable("malformed answer: decision_id is not a string", RetryAfterOne);
                }

                decisionId = id.GetString();
            }

            if (!root.TryGetProperty("result", out JsonElement result))
            {
                return new OpaDecision(OpaDecisionOutcome.Undefined, decisionId, "undefined decision");
            }

            switch (result.ValueKind)
            {
                case JsonValueKind.True:
                    return new OpaDecision(OpaDecisionOutcome.Allowed, decisionId, null);
                case JsonValueKind.False:
                    return new OpaDecision(OpaDecisionOutcome.Denied, decisionId, null);
                case JsonValueKind.Object:
                    string? reason = result.TryGetProperty("reason", out JsonElement r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                    if (!result.TryGetProperty("allow", out JsonElement allow) || allow.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        return OpaDecision.Unavailable("malformed answer: result has no boolean allow", RetryAfterOne);
                    }

                    return new OpaDecision(allow.ValueKind == JsonValueKind.True ? OpaDecisionOutcome.Allowed : OpaDecisionOutcome.Denied, decisionId, reason);
                default:
                    return OpaDecision.Unavailable("malformed answer: result is neither a boolean nor an object", RetryAfterOne);
            }
        }
        catch (JsonException)
        {
            return OpaDecision.Unavailable("malformed answer: not JSON", RetryAfterOne);
        }
    }

    internal static Uri DecisionUri(Uri endpoint, string decisionPath)
    {
        // http://opa:8181, http://opa:8181/ and http://gateway/opa/ all work: one '/' before v1.
        return new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/v1/data/" + decisionPath.Trim('/'));
    }

    private static string[] NormalizeHeaders(IEnumerable<string> names) =>
        [.. names
            .Select(static n => n.Trim().ToLowerInvariant())
            .Where(static n => n.Length > 0 && n is not ("authorization" or "cookie" or "proxy-authorization"))
            .Distinct(StringComparer.Ordinal)];
}

using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.AspNetCore.Tests.Authorization;
using Spiffe.Tests.Shared;
using static Spiffe.AspNetCore.Tests.Authorization.SpiffeAuthTestHost;
using static Spiffe.Tests.Shared.OpaDataApiTestServer;

namespace Spiffe.AspNetCore.Opa.Tests;

/// <summary>
/// <c>RequireOpaDecision()</c> end to end: a real Kestrel app with SPIFFE mTLS (test CA) asking the
/// in-test PDP (<see cref="OpaDataApiTestServer"/>, OPA's Data API on loopback) for each decision. The policy:
/// the frontend may POST /v1/payments; the workload is denied with a reason; anyone else is undefined.
/// </summary>
public sealed class OpaAuthorizationTests : IAsyncLifetime
{
    private readonly SpiffeAuthTestHost _host = new();
    private OpaDataApiTestServer _pdp = null!;

    public async Task InitializeAsync()
    {
        _pdp = await OpaDataApiTestServer.StartAsync(PaymentsPolicy);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _pdp.DisposeAsync();
    }

    [Fact]
    public async Task RequireOpaDecision_PolicyAllows_OkWithDecisionOnRequest()
    {
        (_, Uri address) = await StartAppAsync(_pdp.Address);
        using HttpClient http = _host.MtlsClient(FrontendId);

        using HttpResponseMessage response = await http.SendAsync(Post(address, "/v1/payments"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string[] decision = (await response.Content.ReadAsStringAsync()).Split('|');
        Assert.Equal("Allowed", decision[0]);
        Assert.True(Guid.TryParse(decision[1], out _));
        Assert.Equal("False", decision[2]);
        Assert.Equal(1, _pdp.Requests);
    }

    [Fact]
    public async Task RequireOpaDecision_InputDocument_HasDocumentedShape()
    {
        (_, Uri address) = await StartAppAsync(_pdp.Address, o => o.Headers.Add("X-Tenant"));
        using HttpClient http = _host.MtlsClient(FrontendId);
        using HttpRequestMessage request = Post(address, "/v1/payments");
        request.Headers.Add("x-tenant", "acme");
        request.Headers.Add("x-not-listed", "secret");

        using HttpResponseMessage response = await http.SendAsync(request);

        JsonElement input = Assert.Single(_pdp.Decisions).Input;
        Assert.Equal(1, input.GetProperty("version").GetInt32());
        JsonElement caller = input.GetProperty("caller");
        Assert.Equal(FrontendId.ToString(), caller.GetProperty("spiffe_id").GetString());
        Assert.Equal("example.org", caller.GetProperty("trust_domain").GetString());
        Assert.Equal("/frontend", caller.GetProperty("path").GetString());
        Assert.Equal("mtls", caller.GetProperty("authentication").GetString());
        Assert.Equal(FrontendId.ToString(), caller.GetProperty("mtls_peer").GetString());
        Assert.False(caller.TryGetProperty("jwt", out _));
        JsonElement req = input.GetProperty("request");
        Assert.Equal("POST", req.GetProperty("method").GetString());
        Assert.Equal("/v1/payments", req.GetProperty("path").GetString());
        Assert.Equal("/v1/payments", req.GetProperty("route").GetString());
        Assert.Equal("127.0.0.1", req.GetProperty("remote_address").GetString());
        JsonElement headers = req.GetProperty("headers");
        Assert.Equal("acme", headers.GetProperty("x-tenant").GetString());
        Assert.Single(headers.EnumerateObject());
    }

    [Fact]
    public async Task RequireOpaDecision_JwtSvidCaller_InputCarriesClaims()
    {
        (_, Uri address) = await StartAppAsync(_pdp.Address, mtls: false);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using HttpRequestMessage request = Post(address, "/v1/payments");
        request.Headers.Authorization = new("Bearer", _host.Jwt.MintJwtSvid(FrontendId, [Audience]));

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement caller = Assert.Single(_pdp.Decisions).Input.GetProperty("caller");
        Assert.Equal("jwt_svid", caller.GetProperty("authentication").GetString());
        Assert.False(caller.TryGetProperty("mtls_peer", out _));
        JsonElement jwt = caller.GetProperty("jwt");
        Assert.Equal(Audience, jwt.GetProperty("audience")[0].GetString());
        Assert.Equal(FrontendId.ToString(), jwt.GetProperty("claims").GetProperty("sub").GetString());
        Assert.True(jwt.GetProperty("claims").TryGetProperty("exp", out _));
    }

    [Fact]
    public async Task RequireOpaDecision_PolicyDeniesWithReason_ForbiddenRevealingNothing()
    {
        (WebApplication app, Uri address) = await StartAppAsync(_pdp.Address);
        using HttpClient http = _host.MtlsClient(WorkloadId);

        using HttpResponseMessage response = await http.SendAsync(Post(address, "/v1/payments"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(string.Empty, await response.Content.ReadAsStringAsync());
        Assert.Contains("only checkout pays", Assert.Single(Logs(app, 4010)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequireOpaDecision_UndefinedDecision_Forbidden()
    {
        (_, Uri address) = await StartAppAsync(_pdp.Address);
        using HttpClient http = _host.MtlsClient(AdminId);

        using HttpResponseMessage response = await http.SendAsync(Post(address, "/v1/payments"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(1, _pdp.Requests);
    }

    [Theory]
    [InlineData(PdpMode.Error500)]
    [InlineData(PdpMode.Malformed)]
    [InlineData(PdpMode.Hang)]
    public async Task RequireOpaDecision_PdpErrorsOrHangs_ServiceUnavailableWithRetryAfter(PdpMode mode)
    {
        _pdp.Mode = mode;

        // Only the hanging PDP meets the short timeout; the others answer within the generous default.
        (WebApplication app, Uri address) = await StartAppAsync(_pdp.Address, o => o.Timeout = mode == PdpMode.Hang ? TimeSpan.FromMilliseconds(300) : o.Timeout);
        using HttpClient http = _host.MtlsClient(FrontendId);

        using HttpResponseMessage response = await http.SendAsync(Post(address, "/v1/payments"));

        AssertUnavailable(response, await response.Content.ReadAsStringAsync());
        string reason = Assert.Single(Logs(app, 4111)).Message;
        Assert.Contains(mode switch { PdpMode.Error500 => "HTTP 500", PdpMode.Malformed => "malformed answer", _ => "no answer within 300 ms" }, reason, StringComparison.Ordinal);

        // An outage is not a judgement: the denial is recorded as unavailable, not forbidden.
        Assert.StartsWith("Authorization denied (unavailable)", Assert.Single(Logs(app, 4010)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequireOpaDecision_ConnectionRefused_ServiceUnavailableCountedAsUnavailable()
    {
        (WebApplication app, Uri address) = await StartAppAsync(OpaDataApiTestServer.RefusingAddress());
        using var collector = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Spiffe.AspNetCore", "spiffe.authorization.decisions");
        using HttpClient http = _host.MtlsClient(FrontendId);

        using HttpResponseMessage response = await http.SendAsync(Post(address, "/v1/payments"));

        AssertUnavailable(response, await response.Content.ReadAsStringAsync());
        CollectedMeasurement<long> decision = Assert.Single(collector.GetMeasurementSnapshot());
        Assert.Equal("unavailable", decision.Tags["spiffe.authorization.outcome"]);
    }

    [Fact]
    public async Task RequireOpaDecision_PdpDenies_CountedAsForbidden()
    {
        (WebApplication app, Uri address) = await StartAppAsync(_pdp.Address);
        using var collector = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Spiffe.AspNetCore", "spiffe.authorization.decisions");
        using HttpClient http = _host.MtlsClient(AdminId);

        using HttpResponseMessage response = await http.SendAsync(Post(address, "/v1/payments"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        CollectedMeasurement<long> decision = Assert.Single(collector.GetMeasurementSnapshot());
        Assert.Equal("forbidden", decision.Tags["spiffe.authorization.outcome"]);
    }

    [Fact]
    public async Task RequireOpaDecision_SameQuestionTwice_SecondFromCache()
    {
        (_, Uri address) = await StartAppAsync(_pdp.Address);
        using HttpClient http = _host.MtlsClient(FrontendId);

        string first = await (await http.SendAsync(Post(address, "/v1/payments"))).Content.ReadAsStringAsync();
        string second = await (await http.SendAsync(Post(address, "/v1/payments"))).Content.ReadAsStringAsync();

        Assert.Equal(1, _pdp.Requests);
        Assert.EndsWith("|False", first, StringComparison.Ordinal);
        Assert.EndsWith("|True", second, StringComparison.Ordinal);
        Assert.Equal(first.Split('|')[1], second.Split('|')[1]);
    }

    [Fact]
    public async Task RequireOpaDecision_DeniedTwice_DenialCached()
    {
        (_, Uri address) = await StartAppAsync(_pdp.Address);
        using HttpClient http = _host.MtlsClient(WorkloadId);

        using HttpResponseMessage first = await http.SendAsync(Post(address, "/v1/payments"));
        using HttpResponseMessage second = await http.SendAsync(Post(address, "/v1/payments"));

        Assert.Equal(HttpStatusCode.Forbidden, first.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Equal(1, _pdp.Requests);
    }

    [Fact]
    public async Task RequireOpaDecision_OtherQuestion_NotServedFromCache()
    {
        (WebApplication app, Uri address) = await StartAppAsync(_pdp.Address);
        using HttpClient frontend = _host.MtlsClient(FrontendId);
        using HttpClient workload = _host.MtlsClient(WorkloadId);

        using HttpResponseMessage allowed = await frontend.SendAsync(Post(address, "/v1/payments"));
        using HttpResponseMessage denied = await workload.SendAsync(Post(address, "/v1/payments"));
        using HttpResponseMessage otherRoute = await frontend.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/v1/payments")));

        Assert.True(allowed.StatusCode == HttpStatusCode.OK, string.Join("; ", Logs(app, 4111).Select(l => l.Message)));
        Assert.Empty(Logs(app, 4111));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, otherRoute.StatusCode);
        Assert.Equal(3, _pdp.Requests);
    }

    [Fact]
    public async Task RequireOpaDecision_CacheTtlElapsed_AsksAgain()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        (_, Uri address) = await StartAppAsync(_pdp.Address, o => o.CacheTtl = TimeSpan.FromSeconds(10), time: clock);
        using HttpClient http = _host.MtlsClient(FrontendId);

        using HttpResponseMessage first = await http.SendAsync(Post(address, "/v1/payments"));
        clock.Advance(TimeSpan.FromSeconds(9));
        using HttpResponseMessage cached = await http.SendAsync(Post(address, "/v1/payments"));
        Assert.Equal(1, _pdp.Requests);
        clock.Advance(TimeSpan.FromSeconds(1));
        using HttpResponseMessage expired = await http.SendAsync(Post(address, "/v1/payments"));

        Assert.Equal(2, _pdp.Requests);
        Assert.Equal(HttpStatusCode.OK, expired.StatusCode);
    }

    [Fact]
    public async Task RequireOpaDecision_ConcurrentIdenticalQuestions_OnePdpCall()
    {
        const int callers = 6;
        _pdp.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        (WebApplication app, Uri address) = await StartAppAsync(_pdp.Address, o => o.Timeout = TimeSpan.FromSeconds(30));
        OpaDecisionPoint decisionPoint = app.Services.GetRequiredService<OpaDecisionPoint>();
        int joined = 0;
        var allJoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        decisionPoint.JoinedInFlight = _ =>
        {
            if (Interlocked.Increment(ref joined) == callers)
            {
                allJoined.TrySetResult();
            }
        };
        HttpClient[] clients = [.. Enumerable.Range(0, callers).Select(_ => _host.MtlsClient(FrontendId))];

        Task<HttpResponseMessage>[] calls = [.. clients.Select(c => c.SendAsync(Post(address, "/v1/payments")))];
        await allJoined.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _pdp.Gate.SetResult();
        HttpResponseMessage[] responses = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, _pdp.Requests);
        Assert.Single((await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()))).Select(b => b.Split('|')[1]).Distinct());
        foreach (HttpClient client in clients)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task RequireOpaDecision_PdpKeepsFailing_BreakerOpensAndStopsCallingIt()
    {
        // A failing PDP (500s) rather than a hanging one keeps the count of queries exact under any
        // load; the breaker treats both the same (RequireOpaDecision_PdpErrorsOrHangs_… covers the hang).
        _pdp.Mode = PdpMode.Error500;
        (WebApplication app, Uri address) = await StartAppAsync(_pdp.Address, o =>
        {
            o.BreakerMinimumThroughput = 2;
            o.BreakerFailureRatio = 1;
            o.BreakDuration = TimeSpan.FromSeconds(60);
        });
        using HttpClient http = _host.MtlsClient(FrontendId);

        using HttpResponseMessage first = await http.SendAsync(Post(address, "/v1/payments"));
        using HttpResponseMessage second = await http.SendAsync(Post(address, "/v1/payments"));
        Assert.Equal(2, _pdp.Requests);
        using HttpResponseMessage third = await http.SendAsync(Post(address, "/v1/payments"));
        using HttpResponseMessage fourth = await http.SendAsync(Post(address, "/v1/payments"));

        AssertUnavailable(third, string.Empty);
        AssertUnavailable(fourth, string.Empty);
        Assert.Equal(2, _pdp.Requests);
        Assert.InRange(third.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 50, 60);
        Assert.Single(Logs(app, 4112));
    }

    [Fact]
    public async Task AddOpaAuthorization_NoEndpoint_HostDoesNotStart()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAppAsync(null!));

        Assert.Contains("Endpoint", ex.Message, StringComparison.Ordinal);
    }

    // data.http.authz.allow (boolean) for /v1/payments, data.http.authz.decision ({allow, reason}) too.
    private static string? PaymentsPolicy(string path, JsonElement input)
    {
        string caller = input.GetProperty("caller").GetProperty("spiffe_id").GetString()!;
        JsonElement request = input.GetProperty("request");
        bool pay = request.GetProperty("method").GetString() == "POST" && request.GetProperty("path").GetString() == "/v1/payments";
        if (caller == FrontendId.ToString())
        {
            return path == "http/authz/decision" ? $"{{\"allow\":{(pay ? "true" : "false")}}}" : pay ? "true" : "false";
        }

        if (caller == WorkloadId.ToString())
        {
            return "{\"allow\":false,\"reason\":\"only checkout pays\"}";
        }

        return null;
    }

    private static HttpRequestMessage Post(Uri address, string path) => new(HttpMethod.Post, new Uri(address, path));

    private static void AssertUnavailable(HttpResponseMessage response, string body)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        Assert.True(response.Headers.RetryAfter.Delta.Value >= TimeSpan.FromSeconds(1));
        Assert.Equal(string.Empty, body);
    }

    private Task<(WebApplication App, Uri Address)> StartAppAsync(Uri pdp, Action<OpaAuthorizationOptions>? configure = null, bool mtls = true, TimeProvider? time = null) =>
        _host.StartAsync(
            builder =>
            {
                if (time is not null)
                {
                    builder.Services.AddSingleton(time);
                }

                builder.Services.AddAuthentication()
                    .AddSpiffeX509()
                    .AddSpiffeJwt(o =>
                    {
                        o.Audiences = [Audience];
                        o.BundleSource = _host.JwtBundles;
                    });
                builder.Services.AddSpiffeAuthorization();
                builder.Services.AddOpaAuthorization(o =>
                {
                    o.Endpoint = pdp;

                    // Generous, so that a cold first query (JIT, first connection) on a loaded machine is
                    // not a timeout; the tests of timeouts set their own.
                    o.Timeout = TimeSpan.FromSeconds(20);
                    configure?.Invoke(o);
                });
                builder.Services.AddAuthorization(o => o.AddPolicy("opa", p => p.AddSpiffeAuthenticationSchemes(includeJwt: true).RequireOpaDecision()));
            },
            app =>
            {
                app.MapMethods("/v1/payments", ["GET", "POST"], (HttpContext c) =>
                {
                    IOpaDecisionFeature d = c.Features.Get<IOpaDecisionFeature>()!;
                    return $"{d.Outcome}|{d.DecisionId}|{d.CacheHit}";
                }).RequireAuthorization("opa");
            },
            mtls);
}

using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Spiffe.AspNetCore.Audit;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.AspNetCore.Tests.Authorization;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;
using static Spiffe.AspNetCore.Tests.Authorization.SpiffeAuthTestHost;

namespace Spiffe.AspNetCore.Tests.Audit;

/// <summary>
/// The audit trail on real Kestrel with real mTLS: exactly one event per request (allowed, 403, 401),
/// the fields it carries, a refused handshake, and never a token in any output. Each test stops the
/// host before counting (a graceful stop waits for the requests in flight), so "exactly one" is not
/// a race with the response.
/// </summary>
public sealed class SpiffeAuditTests : IAsyncLifetime
{
    private static readonly SpiffeId Checkout = SpiffeId.Parse("spiffe://example.org/ns/payments/sa/checkout-service");

    private readonly SpiffeAuthTestHost _host = new();
    private readonly RecordingSink _sink = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Mtls_AllowedAndForbidden_ExactlyOneEventEachWithItsFields()
    {
        (WebApplication app, Uri address) = await StartAsync(mtls: true);
        using HttpClient checkout = _host.MtlsClient(Checkout);
        using HttpClient frontend = _host.MtlsClient(FrontendId);

        using HttpResponseMessage allowed = await checkout.PostAsync(new Uri(address, "/v1/payments/42"), new StringContent("hello"));
        using HttpResponseMessage forbidden = await frontend.PostAsync(new Uri(address, "/v1/payments/43"), new StringContent("hi"));
        await app.StopAsync();

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        SpiffeAuditEvent ok = Assert.Single(_sink.Events, e => e.Path == "/v1/payments/42");
        Assert.Equal(SpiffeAuditEventKind.Request, ok.Kind);
        Assert.Equal(Checkout, ok.CallerId);
        Assert.Equal(Checkout, ok.PeerId);
        Assert.Null(ok.ProxyId);
        Assert.Equal(SpiffeAuditAuthentication.Mtls, ok.Authentication);
        Assert.Equal("POST", ok.Method);
        Assert.Equal("/v1/payments/{id}", ok.RouteTemplate);
        Assert.Equal(200, ok.StatusCode);
        Assert.Equal(SpiffeAuditDecision.Allowed, ok.Decision);
        Assert.Equal(SpiffeAuthorizationServiceCollectionExtensions.RulesPolicyName, ok.PolicyName);
        Assert.Equal(SpiffeAuthorizationDecision.RulesSource, ok.DecisionSource!.Source);
        Assert.True(ok.DecisionSource.Allowed);
        Assert.Equal(1, ok.DecisionSource.RuleIndex);
        Assert.Equal(5, ok.RequestBytes);
        Assert.Equal(4, ok.ResponseBytes); // "paid"
        Assert.True(ok.Duration > TimeSpan.Zero);
        Assert.StartsWith("127.0.0.1:", ok.RemoteAddress, StringComparison.Ordinal);
        Assert.Empty(ok.JwtAudience);

        SpiffeAuditEvent denied = Assert.Single(_sink.Events, e => e.Path == "/v1/payments/43");
        Assert.Equal(FrontendId, denied.CallerId);
        Assert.Equal(403, denied.StatusCode);
        Assert.Equal(SpiffeAuditDecision.Forbidden, denied.Decision);
        Assert.False(denied.DecisionSource!.Allowed);
        Assert.Null(denied.DecisionSource.RuleIndex); // no rule matched
        Assert.Contains("matches no ALLOW rule", denied.Reason, StringComparison.Ordinal);
        Assert.Equal(0, denied.ResponseBytes);
        Assert.Equal(2, _sink.Events.Count);
        Assert.Equal(2, Logs(app, 4100).Count);
    }

    [Fact]
    public async Task Mtls_DenyRule_EventNamesTheRuleIndex()
    {
        (WebApplication app, Uri address) = await StartAsync(mtls: true);
        using HttpClient checkout = _host.MtlsClient(Checkout);

        using HttpResponseMessage response = await checkout.PostAsync(new Uri(address, "/v1/payments/admin"), null);
        await app.StopAsync();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        SpiffeAuditEvent e = Assert.Single(_sink.Events);
        Assert.Equal(0, e.DecisionSource!.RuleIndex);
        Assert.False(e.DecisionSource.Allowed);
    }

    [Fact]
    public async Task JwtSvid_AllowedAndUnauthorized_OneEventEach_NoTokenInAnyOutput()
    {
        (WebApplication app, Uri address) = await StartAsync(mtls: false);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        string token = _host.Jwt.MintJwtSvid(Checkout, [Audience, "spiffe://example.org/other"]);
        string forged = TestJwtAuthority.FlipSignatureBit(_host.Jwt.MintJwtSvid(Checkout, [Audience]));

        using HttpResponseMessage allowed = await http.SendAsync(Post(address, "/v1/payments/1", token));
        using HttpResponseMessage badToken = await http.SendAsync(Post(address, "/v1/payments/2", forged));
        using HttpResponseMessage noToken = await http.SendAsync(Post(address, "/v1/payments/3", null));
        using HttpResponseMessage open = await http.GetAsync(new Uri(address, "/open"));
        await app.StopAsync();

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, badToken.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);

        SpiffeAuditEvent ok = Assert.Single(_sink.Events, e => e.Path == "/v1/payments/1");
        Assert.Equal(SpiffeAuditAuthentication.JwtSvid, ok.Authentication);
        Assert.Equal(Checkout, ok.CallerId);
        Assert.Null(ok.PeerId);
        Assert.Equal(Checkout, ok.JwtSubject);
        Assert.Equal([Audience, "spiffe://example.org/other"], ok.JwtAudience);
        Assert.Equal(SpiffeAuditDecision.Allowed, ok.Decision);

        foreach (string path in new[] { "/v1/payments/2", "/v1/payments/3" })
        {
            SpiffeAuditEvent challenged = Assert.Single(_sink.Events, e => e.Path == path);
            Assert.Equal(401, challenged.StatusCode);
            Assert.Equal(SpiffeAuditDecision.Challenged, challenged.Decision);
            Assert.Null(challenged.CallerId);
            Assert.Equal(SpiffeAuditAuthentication.None, challenged.Authentication);
        }

        // No SPIFFE scheme ran for /open and the connection is not SPIFFE mTLS: no event.
        Assert.DoesNotContain(_sink.Events, e => e.Path == "/open");
        Assert.Equal(3, _sink.Events.Count);

        // Neither token (nor its signature alone) appears in any log line or structured field.
        string signature = token[(token.LastIndexOf('.') + 1)..];
        string forgedSignature = forged[(forged.LastIndexOf('.') + 1)..];
        IReadOnlyList<FakeLogRecord> logs = app.Services.GetFakeLogCollector().GetSnapshot();
        Assert.Equal(3, logs.Count(r => r.Id.Id == 4100));
        foreach (FakeLogRecord record in logs)
        {
            string text = record.Message + " " + string.Join(" ", record.StructuredState?.Select(kv => kv.Value) ?? []);
            Assert.DoesNotContain(signature, text, StringComparison.Ordinal);
            Assert.DoesNotContain(forgedSignature, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RefusedHandshake_OneEventWithPresentedIdReasonAndAddress()
    {
        (WebApplication app, Uri address) = await StartAsync(mtls: true);
        using TestCertificateAuthority otherCa = TestCertificateAuthority.Create(Domain);
        var intruderId = SpiffeId.Parse("spiffe://example.org/intruder");
        var tls = SpiffeTlsClient.MutualTls(new MutableSvidSource(_host.Own(otherCa.CreateX509Svid(intruderId))), _host.X509Bundles, SpiffeIdAuthorizer.Exact(ServerId));
        using var intruder = new HttpClient(new SocketsHttpHandler { SslOptions = tls.GetOptions("localhost") }) { Timeout = TimeSpan.FromSeconds(30) };

        await Assert.ThrowsAsync<HttpRequestException>(() => intruder.PostAsync(new Uri(address, "/v1/payments/1"), null));
        SpiffeAuditEvent refused = await _sink.FirstRefusal.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await app.StopAsync();

        Assert.Equal(SpiffeAuditEventKind.HandshakeRefused, refused.Kind);
        Assert.Equal(intruderId, refused.PeerId);
        Assert.Equal("untrusted_chain", refused.RefusalReason);
        Assert.StartsWith("127.0.0.1:", refused.RemoteAddress, StringComparison.Ordinal);
        Assert.NotNull(refused.Reason);
        Assert.DoesNotContain(_sink.Events, e => e.Kind == SpiffeAuditEventKind.Request); // the request never reached HTTP
        Assert.Contains(Logs(app, 4101), r => r.Message.Contains(intruderId.ToString(), StringComparison.Ordinal) && r.Message.Contains("untrusted_chain", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SinkThatThrows_LoggedAndOtherSinksStillWrite()
    {
        (WebApplication app, Uri address) = await StartAsync(mtls: true, extraSink: new ThrowingSink());
        using HttpClient checkout = _host.MtlsClient(Checkout);

        using HttpResponseMessage response = await checkout.PostAsync(new Uri(address, "/v1/payments/1"), null);
        await app.StopAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_sink.Events);
        Assert.Single(Logs(app, 4102));
    }

    [Fact]
    public async Task GrpcCall_OneEventWithBodySizesCounted_CallStillWorks()
    {
        (WebApplication app, Uri address) = await _host.StartAsync(
            builder =>
            {
                builder.Services.AddGrpc();
                builder.Services.AddSingleton<Grpc.AspNetCore.Server.Model.IServiceMethodProvider<SpiffeAuthorizationTests.GuardedService>, SpiffeAuthorizationTests.GuardedMethodProvider>();
                builder.Services.AddAuthentication().AddSpiffeX509();
                builder.Services.AddSpiffeAudit();
                builder.Services.AddSingleton<ISpiffeAuditSink>(_sink);
                builder.Services.AddAuthorization(o => o.AddPolicy(SpiffeAuthorizationTests.GuardedService.Policy, p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(FrontendId)));
            },
            app => app.MapGrpcService<SpiffeAuthorizationTests.GuardedService>());
        var svid = new MutableSvidSource(_host.Own(_host.Ca.CreateX509Svid(FrontendId)));
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(address, new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(svid, _host.X509Bundles, SpiffeIdAuthorizer.Exact(ServerId)) });

        string reply = await channel.CreateCallInvoker().AsyncUnaryCall(SpiffeAuthorizationTests.GuardedService.Hello, null, new Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), "hi");
        await app.StopAsync();

        Assert.Equal($"hi {FrontendId}", reply);
        SpiffeAuditEvent e = Assert.Single(_sink.Events);
        Assert.Equal("/spiffe.test.Guarded/Hello", e.Path);
        Assert.Equal(200, e.StatusCode);
        Assert.Equal(SpiffeAuditDecision.Allowed, e.Decision);
        Assert.Equal(SpiffeAuthorizationTests.GuardedService.Policy, e.PolicyName);
        Assert.Equal(FrontendId, e.CallerId);
        Assert.Equal(5 + 2, e.RequestBytes); // gRPC frame header + "hi"
        Assert.Equal(5 + $"hi {FrontendId}".Length, e.ResponseBytes);
    }

    private static HttpRequestMessage Post(Uri address, string path, string? bearer)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path));
        if (bearer is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }

        return request;
    }

    private async Task<(WebApplication App, Uri Address)> StartAsync(bool mtls, ISpiffeAuditSink? extraSink = null) =>
        await _host.StartAsync(
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Spiffe:Authorization:Rules:0:Action"] = "DENY",
                    ["Spiffe:Authorization:Rules:0:Paths:0"] = "*/admin",
                    ["Spiffe:Authorization:Rules:1:Action"] = "ALLOW",
                    ["Spiffe:Authorization:Rules:1:Principals:0"] = "example.org/ns/payments/sa/checkout-service",
                    ["Spiffe:Authorization:Rules:1:Methods:0"] = "POST",
                    ["Spiffe:Authorization:Rules:1:Paths:0"] = "/v1/payments/*",
                });
                builder.Services.AddAuthentication()
                    .AddSpiffeX509()
                    .AddSpiffeJwt(o =>
                    {
                        o.BundleSource = _host.JwtBundles;
                        o.Audiences = [Audience];
                    });
                builder.Services.AddSpiffeAudit();
                builder.Services.AddSingleton<ISpiffeAuditSink>(_sink);
                if (extraSink is not null)
                {
                    builder.Services.AddSingleton(extraSink);
                }
            },
            app =>
            {
                app.MapPost("/v1/payments/{id}", async (HttpContext c) =>
                {
                    using var reader = new StreamReader(c.Request.Body);
                    await reader.ReadToEndAsync();
                    return "paid";
                }).RequireAuthorization(SpiffeAuthorizationServiceCollectionExtensions.RulesPolicyName);
                app.MapGet("/open", () => "open");
            },
            mtls);

    private sealed class RecordingSink : ISpiffeAuditSink
    {
        private readonly ConcurrentQueue<SpiffeAuditEvent> _events = new();

        public TaskCompletionSource<SpiffeAuditEvent> FirstRefusal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<SpiffeAuditEvent> Events => [.. _events];

        public void Write(SpiffeAuditEvent auditEvent)
        {
            _events.Enqueue(auditEvent);
            if (auditEvent.Kind == SpiffeAuditEventKind.HandshakeRefused)
            {
                FirstRefusal.TrySetResult(auditEvent);
            }
        }
    }

    private sealed class ThrowingSink : ISpiffeAuditSink
    {
        public void Write(SpiffeAuditEvent auditEvent) => throw new InvalidOperationException("sink down");
    }
}

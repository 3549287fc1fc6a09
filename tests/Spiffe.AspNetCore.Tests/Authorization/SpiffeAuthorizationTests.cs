using System.Net;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Tls;
using static Spiffe.AspNetCore.Tests.Authorization.SpiffeAuthTestHost;

namespace Spiffe.AspNetCore.Tests.Authorization;

/// <summary>SPIFFE policies on real Kestrel with real mTLS: every rule both ways, templates, configuration reload, deny by default, telemetry, gRPC.</summary>
public sealed class SpiffeAuthorizationTests : IAsyncLifetime
{
    private readonly SpiffeAuthTestHost _host = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("/id", "frontend", HttpStatusCode.OK)]
    [InlineData("/id", "admin", HttpStatusCode.Forbidden)]
    [InlineData("/domain", "frontend", HttpStatusCode.OK)]
    [InlineData("/partner", "frontend", HttpStatusCode.Forbidden)]
    [InlineData("/template", "ns/prod/sa/web", HttpStatusCode.OK)]
    [InlineData("/template", "ns/prod/sa/web/extra", HttpStatusCode.Forbidden)]
    [InlineData("/template", "ns/prod/other/web", HttpStatusCode.Forbidden)]
    [InlineData("/template", "frontend", HttpStatusCode.Forbidden)]
    [InlineData("/authorizer", "admin", HttpStatusCode.OK)]
    [InlineData("/authorizer", "frontend", HttpStatusCode.Forbidden)]
    public async Task PolicyBuilders_EachRule_AllowsOrForbids(string path, string caller, HttpStatusCode expected)
    {
        (_, Uri address) = await StartAsync();
        using HttpClient http = _host.MtlsClient(SpiffeId.Parse("spiffe://example.org/" + caller));

        using HttpResponseMessage response = await http.SendAsync(Get(address, path));

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task RequireSpiffeIdMatching_CapturedSegmentsReachTheEndpoint()
    {
        (_, Uri address) = await StartAsync();
        using HttpClient http = _host.MtlsClient(WorkloadId);

        string body = await http.GetStringAsync(new Uri(address, "/template"));

        Assert.Equal("ns=prod template=spiffe://example.org/ns/{ns}/sa/*", body);
    }

    [Fact]
    public async Task Policy_NoSvidOnConnection_Unauthorized()
    {
        (_, Uri address) = await StartAsync(mtls: false);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/id"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task DenyByDefault_EndpointWithoutPolicy_DeniedUnlessAllowAnonymous()
    {
        (_, Uri address) = await StartAsync(denyByDefault: true);
        using HttpClient frontend = _host.MtlsClient(FrontendId);
        using var anonymous = new HttpClient(new SocketsHttpHandler { SslOptions = SpiffeTlsClient.Tls(_host.X509Bundles, SpiffeIdAuthorizer.Any()).GetOptions("localhost") });

        using HttpResponseMessage open = await frontend.SendAsync(Get(address, "/open"));
        using HttpResponseMessage anonymousCall = await frontend.SendAsync(Get(address, "/anonymous"));
        using HttpResponseMessage withPolicy = await frontend.SendAsync(Get(address, "/id"));

        Assert.Equal(HttpStatusCode.Forbidden, open.StatusCode);
        Assert.Equal(HttpStatusCode.OK, anonymousCall.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withPolicy.StatusCode);
    }

    [Fact]
    public async Task DenyByDefault_Off_EndpointWithoutPolicyServes()
    {
        (_, Uri address) = await StartAsync(denyByDefault: false);
        using HttpClient frontend = _host.MtlsClient(FrontendId);

        using HttpResponseMessage open = await frontend.SendAsync(Get(address, "/open"));

        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
    }

    [Fact]
    public async Task Decisions_CountedByOutcomeAndDenialsLoggedWithPolicy()
    {
        (WebApplication app, Uri address) = await StartAsync();
        using var collector = new MetricCollector<long>(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Spiffe.AspNetCore", "spiffe.authorization.decisions");
        using HttpClient frontend = _host.MtlsClient(FrontendId);
        using HttpClient admin = _host.MtlsClient(AdminId);

        using HttpResponseMessage allowed = await frontend.SendAsync(Get(address, "/id"));
        using HttpResponseMessage forbidden = await admin.SendAsync(Get(address, "/id"));

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        IReadOnlyList<CollectedMeasurement<long>> measurements = collector.GetMeasurementSnapshot();
        Assert.Equal(2, measurements.Count);
        Assert.Single(measurements, m => Equals(m.Tags["spiffe.authorization.outcome"], "allowed") && Equals(m.Tags["spiffe.authorization.policy"], "id"));
        Assert.Single(measurements, m => Equals(m.Tags["spiffe.authorization.outcome"], "forbidden") && Equals(m.Tags["spiffe.authorization.policy"], "id"));
        var denial = Assert.Single(Logs(app, 4010));
        Assert.Equal(LogLevel.Warning, denial.Level);
        Assert.Contains("policy id", denial.Message, StringComparison.Ordinal);
        Assert.Contains(AdminId.ToString(), denial.Message, StringComparison.Ordinal);
        Assert.Contains("is not allowed", denial.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decisions_UnauthenticatedCaller_CountedAsChallenged()
    {
        (WebApplication app, Uri address) = await StartAsync(mtls: false);
        using var collector = new MetricCollector<long>(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Spiffe.AspNetCore", "spiffe.authorization.decisions");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/domain"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        CollectedMeasurement<long> measurement = Assert.Single(collector.GetMeasurementSnapshot());
        Assert.Equal("challenged", measurement.Tags["spiffe.authorization.outcome"]);
        Assert.Contains("an unauthenticated caller", Assert.Single(Logs(app, 4010)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigurationPolicy_ReloadThatBreaksKeepsLastGood_ReloadThatFixesApplies()
    {
        (WebApplication app, Uri address) = await StartAsync(configuration: new Dictionary<string, string?>
        {
            ["Spiffe:Authorization:Policies:orders:AllowedIds:0"] = FrontendId.ToString(),
        });
        using HttpClient frontend = _host.MtlsClient(FrontendId);
        using HttpClient admin = _host.MtlsClient(AdminId);
        var configuration = (IConfigurationRoot)app.Configuration;

        Assert.Equal(HttpStatusCode.OK, (await frontend.SendAsync(Get(address, "/orders"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.SendAsync(Get(address, "/orders"))).StatusCode);

        // A broken reload: the new list would allow admin, but one entry is not a SPIFFE ID.
        configuration["Spiffe:Authorization:Policies:orders:AllowedIds:0"] = AdminId.ToString();
        configuration["Spiffe:Authorization:Policies:orders:AllowedIds:1"] = "https://example.org/not-spiffe";
        configuration.Reload();

        Assert.Contains(Logs(app, 4012), r => r.Message.Contains("not-spiffe", StringComparison.Ordinal) && r.Message.Contains("orders", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await frontend.SendAsync(Get(address, "/orders"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.SendAsync(Get(address, "/orders"))).StatusCode);

        // The fix: a valid list that allows admin only.
        configuration["Spiffe:Authorization:Policies:orders:AllowedIds:1"] = "spiffe://example.org/ns/prod/sa/web";
        configuration.Reload();

        Assert.Equal(HttpStatusCode.Forbidden, (await frontend.SendAsync(Get(address, "/orders"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(Get(address, "/orders"))).StatusCode);
        Assert.Equal(2, Logs(app, 4011).Count); // startup, then the fix
    }

    [Theory]
    [InlineData("AllowedTrustDomains:0", "example.org", "frontend", HttpStatusCode.OK)]
    [InlineData("AllowedTrustDomains:0", "partner.org", "frontend", HttpStatusCode.Forbidden)]
    [InlineData("Patterns:0", "spiffe://example.org/ns/{ns}/sa/web", "ns/prod/sa/web", HttpStatusCode.OK)]
    [InlineData("Patterns:0", "spiffe://example.org/ns/{ns}/sa/web", "ns/prod/sa/db", HttpStatusCode.Forbidden)]
    [InlineData("AllowedIds", "spiffe://example.org/frontend", "frontend", HttpStatusCode.OK)]
    public async Task ConfigurationPolicy_EachKey_AllowsOrForbids(string key, string value, string caller, HttpStatusCode expected)
    {
        (_, Uri address) = await StartAsync(configuration: new Dictionary<string, string?>
        {
            ["Spiffe:Authorization:Policies:orders:" + key] = value,
        });
        using HttpClient http = _host.MtlsClient(SpiffeId.Parse("spiffe://example.org/" + caller));

        using HttpResponseMessage response = await http.SendAsync(Get(address, "/orders"));

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("Spiffe:Authorization:Policies:orders:AllowedIds:0", "not-an-id", "not a SPIFFE ID")]
    [InlineData("Spiffe:Authorization:Policies:orders:Patterns:0", "spiffe://example.org/web-*", "whole segments")]
    [InlineData("Spiffe:Authorization:Policies:orders:AllowedIdz:0", "spiffe://example.org/web", "allows nobody")]
    public async Task ConfigurationPolicy_InvalidAtStartup_StartupFails(string key, string value, string expected)
    {
        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(configuration: new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("frontend", StatusCode.OK)]
    [InlineData("admin", StatusCode.PermissionDenied)]
    public async Task GrpcService_AuthorizeAttributePolicy_AllowsOrDenies(string caller, StatusCode expected)
    {
        (_, Uri address) = await _host.StartAsync(
            builder =>
            {
                builder.Services.AddGrpc();
                builder.Services.AddSingleton<IServiceMethodProvider<GuardedService>, GuardedMethodProvider>();
                builder.Services.AddAuthentication().AddSpiffeX509();
                builder.Services.AddSpiffeAuthorization();
                builder.Services.AddAuthorization(o => o.AddPolicy(GuardedService.Policy, p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(FrontendId)));
            },
            app => app.MapGrpcService<GuardedService>());
        SpiffeId id = SpiffeId.Parse("spiffe://example.org/" + caller);
        var svid = new Spiffe.Core.Tests.Tls.MutableSvidSource(_host.Own(_host.Ca.CreateX509Svid(id)));
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(svid, _host.X509Bundles, SpiffeIdAuthorizer.Exact(ServerId)) });

        StatusCode status;
        string? reply = null;
        try
        {
            reply = await channel.CreateCallInvoker().AsyncUnaryCall(GuardedService.Hello, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), "hi");
            status = StatusCode.OK;
        }
        catch (RpcException e)
        {
            status = e.StatusCode;
        }

        Assert.Equal(expected, status);
        if (expected == StatusCode.OK)
        {
            Assert.Equal($"hi {FrontendId}", reply);
        }
    }

    private async Task<(WebApplication App, Uri Address)> StartAsync(bool mtls = true, bool denyByDefault = false, Dictionary<string, string?>? configuration = null) =>
        await _host.StartAsync(
            builder =>
            {
                if (configuration is not null)
                {
                    builder.Configuration.AddInMemoryCollection(configuration);
                }

                builder.Services.AddAuthentication().AddSpiffeX509();
                builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = denyByDefault);
                builder.Services.AddAuthorization(o =>
                {
                    o.AddPolicy("id", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(FrontendId));
                    o.AddPolicy("domain", p => p.AddSpiffeAuthenticationSchemes().RequireTrustDomain(Domain));
                    o.AddPolicy("partner", p => p.AddSpiffeAuthenticationSchemes().RequireTrustDomain(TrustDomain.Parse("partner.org")));
                    o.AddPolicy("template", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeIdMatching("spiffe://example.org/ns/{ns}/sa/*"));
                    o.AddPolicy("authorizer", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(SpiffeIdAuthorizer.Matching(id => id.Path.EndsWith("/admin", StringComparison.Ordinal), "admins")));
                });
            },
            app =>
            {
                app.MapGet("/id", () => "ok").RequireAuthorization("id");
                app.MapGet("/domain", () => "ok").RequireAuthorization("domain");
                app.MapGet("/partner", () => "ok").RequireAuthorization("partner");
                app.MapGet("/authorizer", () => "ok").RequireAuthorization("authorizer");
                app.MapGet("/template", (HttpContext c) =>
                {
                    ISpiffeIdMatchFeature match = c.Features.Get<ISpiffeIdMatchFeature>()!;
                    return $"ns={match.Values["ns"]} template={match.Template}";
                }).RequireAuthorization("template");
                app.MapGet("/open", () => "ok");
                app.MapGet("/anonymous", () => "ok").AllowAnonymous();
                if (configuration is not null)
                {
                    app.MapGet("/orders", () => "ok").RequireAuthorization("orders");
                }
            },
            mtls);

    /// <summary>A gRPC service guarded by <c>[Authorize(Policy = ...)]</c>, as a generated service would be.</summary>
    [Authorize(Policy = Policy)]
    internal sealed class GuardedService
    {
        public const string Policy = "frontend-only";

        public static readonly Method<string, string> Hello = new(
            MethodType.Unary,
            "spiffe.test.Guarded",
            "Hello",
            Marshallers.Create(s => System.Text.Encoding.UTF8.GetBytes(s), b => System.Text.Encoding.UTF8.GetString(b)),
            Marshallers.Create(s => System.Text.Encoding.UTF8.GetBytes(s), b => System.Text.Encoding.UTF8.GetString(b)));

        public Task<string> SayHello(string request, ServerCallContext context) =>
            Task.FromResult($"{request} {context.GetHttpContext().User.Identity!.Name}");
    }

    /// <summary>Binds <see cref="GuardedService"/> with its attributes as endpoint metadata, which is what Grpc.Tools' generated binder does.</summary>
    internal sealed class GuardedMethodProvider : IServiceMethodProvider<GuardedService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<GuardedService> context) =>
            context.AddUnaryMethod(GuardedService.Hello, [.. typeof(GuardedService).GetCustomAttributes(inherit: true)], (service, request, call) => service.SayHello(request, call));
    }
}

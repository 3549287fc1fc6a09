using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using static Spiffe.AspNetCore.Tests.Authorization.SpiffeAuthTestHost;

namespace Spiffe.AspNetCore.Tests.Authorization;

/// <summary>The rule set from configuration on real Kestrel with real mTLS: the named policy, <c>RequireSpiffeRules()</c>, reloads, startup validation.</summary>
public sealed class SpiffeRulesPolicyTests : IAsyncLifetime
{
    private static readonly SpiffeId Checkout = SpiffeId.Parse("spiffe://example.org/ns/payments/sa/checkout-service");

    private readonly SpiffeAuthTestHost _host = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("checkout", "POST", "/v1/payments", HttpStatusCode.OK)]
    [InlineData("checkout", "GET", "/v1/payments", HttpStatusCode.Forbidden)]
    [InlineData("frontend", "POST", "/v1/payments", HttpStatusCode.Forbidden)]
    [InlineData("checkout", "POST", "/v1/admin", HttpStatusCode.Forbidden)] // ALLOW by prefix, but DENY wins
    [InlineData("frontend", "GET", "/v1/status", HttpStatusCode.OK)]
    public async Task RulesPolicy_IstioStyleRules_AllowOrForbid(string caller, string method, string path, HttpStatusCode expected)
    {
        (_, Uri address) = await StartAsync(new()
        {
            ["Spiffe:Authorization:Rules:0:Action"] = "DENY",
            ["Spiffe:Authorization:Rules:0:Paths:0"] = "/v1/admin",
            ["Spiffe:Authorization:Rules:1:Action"] = "ALLOW",
            ["Spiffe:Authorization:Rules:1:Principals:0"] = "example.org/ns/payments/sa/checkout-service", // Istio spelling
            ["Spiffe:Authorization:Rules:1:Methods:0"] = "POST",
            ["Spiffe:Authorization:Rules:1:Paths:0"] = "/v1/*",
            ["Spiffe:Authorization:Rules:2:Action"] = "ALLOW",
            ["Spiffe:Authorization:Rules:2:Principals"] = "example.org", // a trust domain; a single string is a one-element list
            ["Spiffe:Authorization:Rules:2:Paths:0"] = "*/status",
        });
        using HttpClient http = _host.MtlsClient(caller == "checkout" ? Checkout : FrontendId);

        using HttpResponseMessage response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri(address, path)));

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task RequireSpiffeRules_NoRules_DeniesEveryone()
    {
        (_, Uri address) = await StartAsync([]);
        using HttpClient http = _host.MtlsClient(Checkout);

        using HttpResponseMessage response = await http.PostAsync(new Uri(address, "/v1/payments"), null);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task RulesPolicy_NoClientSvid_Unauthorized()
    {
        (_, Uri address) = await StartAsync(new() { ["Spiffe:Authorization:Rules:0:Action"] = "ALLOW" }, mtls: false);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using HttpResponseMessage response = await http.PostAsync(new Uri(address, "/v1/payments"), null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task RulesPolicy_BadReloadKeepsLastGood_GoodReloadApplies()
    {
        (WebApplication app, Uri address) = await StartAsync(new()
        {
            ["Spiffe:Authorization:Rules:0:Action"] = "ALLOW",
            ["Spiffe:Authorization:Rules:0:Principals:0"] = Checkout.ToString(),
        });
        using HttpClient checkout = _host.MtlsClient(Checkout);
        using HttpClient frontend = _host.MtlsClient(FrontendId);
        var configuration = (IConfigurationRoot)app.Configuration;
        Assert.Equal(HttpStatusCode.OK, (await checkout.PostAsync(new Uri(address, "/v1/payments"), null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await frontend.PostAsync(new Uri(address, "/v1/payments"), null)).StatusCode);

        // A broken reload: it would allow frontend, but its second rule has a path without its '/'.
        configuration["Spiffe:Authorization:Rules:0:Principals:0"] = FrontendId.ToString();
        configuration["Spiffe:Authorization:Rules:1:Action"] = "DENY";
        configuration["Spiffe:Authorization:Rules:1:Paths:0"] = "v1/payments";
        configuration.Reload();

        Assert.Contains(Logs(app, 4016), r => r.Message.Contains("Spiffe:Authorization:Rules:1:Paths:0", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await checkout.PostAsync(new Uri(address, "/v1/payments"), null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await frontend.PostAsync(new Uri(address, "/v1/payments"), null)).StatusCode);

        // The fix: the same rules with the path written right.
        configuration["Spiffe:Authorization:Rules:1:Paths:0"] = "/v1/admin";
        configuration.Reload();

        Assert.Equal(HttpStatusCode.Forbidden, (await checkout.PostAsync(new Uri(address, "/v1/payments"), null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await frontend.PostAsync(new Uri(address, "/v1/payments"), null)).StatusCode);
        Assert.Equal(2, Logs(app, 4015).Count); // startup, then the fix
    }

    [Theory]
    [InlineData("Spiffe:Authorization:Rules:0:Action", "PERMIT", "Spiffe:Authorization:Rules:0:Action")]
    [InlineData("Spiffe:Authorization:Rules:0:Principal:0", "example.org", "Spiffe:Authorization:Rules:0:Principal")]
    public async Task Rules_InvalidAtStartup_StartupFailsNamingTheKey(string key, string value, string expected)
    {
        var configuration = new Dictionary<string, string?> { ["Spiffe:Authorization:Rules:0:Action"] = "ALLOW", [key] = value };

        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(configuration));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private async Task<(WebApplication App, Uri Address)> StartAsync(Dictionary<string, string?> configuration, bool mtls = true) =>
        await _host.StartAsync(
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(configuration);
                builder.Services.AddAuthentication().AddSpiffeX509();
                builder.Services.AddSpiffeAuthorization();
                builder.Services.AddAuthorization(o => o.AddPolicy("rules-by-extension", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeRules()));
            },
            app =>
            {
                app.MapPost("/v1/{**rest}", (HttpContext c) => "ok").RequireAuthorization(SpiffeAuthorizationServiceCollectionExtensions.RulesPolicyName);
                app.MapGet("/v1/{**rest}", (HttpContext c) => "ok").RequireAuthorization("rules-by-extension");
            },
            mtls);
}

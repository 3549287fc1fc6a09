using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.AspNetCore.Tests.Authorization;
using static Spiffe.AspNetCore.Tests.Authorization.SpiffeAuthTestHost;

namespace Spiffe.AspNetCore.Tests.Authentication;

/// <summary>
/// Envoy's x-forwarded-client-cert on real Kestrel with real mTLS: believed only from a verified
/// peer listed in <c>TrustedProxies</c>, ignored (and logged) from anyone else, and a malformed header
/// from the proxy authenticates nobody.
/// </summary>
public sealed class TrustedProxyTests : IAsyncLifetime
{
    private const string Xfcc = "x-forwarded-client-cert";
    private readonly SpiffeAuthTestHost _host = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task AddSpiffeX509_TrustedProxyForwardsCaller_PrincipalIsCallerWithProxy()
    {
        (WebApplication app, Uri address) = await StartAsync();
        using HttpClient proxy = _host.MtlsClient(GatewayId);
        using HttpRequestMessage request = Get(address, "/who");
        request.Headers.TryAddWithoutValidation(Xfcc, $"By={GatewayId};Hash=0a1b;Subject=\"\";URI={WorkloadId}");

        using HttpResponseMessage response = await proxy.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"caller={WorkloadId};proxyClaim={GatewayId};feature={GatewayId}->{WorkloadId}#0a1b;peer={GatewayId}", await response.Content.ReadAsStringAsync());
        Assert.Single(Logs(app, 4006));
    }

    [Fact]
    public async Task AddSpiffeX509_TrustedProxyForwardsCaller_PolicyAppliesToCaller()
    {
        (_, Uri address) = await StartAsync();
        using HttpClient proxy = _host.MtlsClient(GatewayId);
        using HttpRequestMessage allowed = Get(address, "/admin");
        allowed.Headers.TryAddWithoutValidation(Xfcc, $"URI={AdminId}");
        using HttpRequestMessage denied = Get(address, "/admin");
        denied.Headers.TryAddWithoutValidation(Xfcc, $"URI={WorkloadId}");

        using HttpResponseMessage ok = await proxy.SendAsync(allowed);
        using HttpResponseMessage forbidden = await proxy.SendAsync(denied);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Fact]
    public async Task AddSpiffeX509_TrustedProxyWithoutHeader_AuthenticatesProxyItself()
    {
        (_, Uri address) = await StartAsync();
        using HttpClient proxy = _host.MtlsClient(GatewayId);

        string body = await proxy.GetStringAsync(new Uri(address, "/who"));

        Assert.Equal($"caller={GatewayId};proxyClaim=;feature=;peer={GatewayId}", body);
    }

    [Fact]
    public async Task AddSpiffeX509_UntrustedPeerSendsHeader_IgnoredAndLogged()
    {
        (WebApplication app, Uri address) = await StartAsync();
        using HttpClient intruder = _host.MtlsClient(FrontendId);
        using HttpRequestMessage request = Get(address, "/who");
        request.Headers.TryAddWithoutValidation(Xfcc, $"By={GatewayId};URI={AdminId}");

        using HttpResponseMessage response = await intruder.SendAsync(request);

        Assert.Equal($"caller={FrontendId};proxyClaim=;feature=;peer={FrontendId}", await response.Content.ReadAsStringAsync());
        var log = Assert.Single(Logs(app, 4004));
        Assert.Contains(FrontendId.ToString(), log.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", log.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddSpiffeX509_UntrustedPeerSendsHeader_CannotReachCallerOnlyEndpoint()
    {
        (_, Uri address) = await StartAsync();
        using HttpClient intruder = _host.MtlsClient(FrontendId);
        using HttpRequestMessage request = Get(address, "/admin");
        request.Headers.TryAddWithoutValidation(Xfcc, $"URI={AdminId}");

        using HttpResponseMessage response = await intruder.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [InlineData("URI=\"spiffe://example.org/admin")]
    [InlineData("URI=spiffe://example.org/admin;URI=spiffe://example.org/web")]
    [InlineData("By=spiffe://example.org/someone-else;URI=spiffe://example.org/admin")]
    [InlineData("Hash=ab;URI=")]
    [InlineData("URI=https://example.org/admin")]
    public async Task AddSpiffeX509_MalformedHeaderFromTrustedProxy_UnauthorizedNoPartialIdentity(string header)
    {
        (WebApplication app, Uri address) = await StartAsync();
        using HttpClient proxy = _host.MtlsClient(GatewayId);
        using HttpRequestMessage request = Get(address, "/admin");
        request.Headers.TryAddWithoutValidation(Xfcc, header);
        using HttpRequestMessage who = Get(address, "/who");
        who.Headers.TryAddWithoutValidation(Xfcc, header);

        using HttpResponseMessage response = await proxy.SendAsync(request);
        using HttpResponseMessage whoResponse = await proxy.SendAsync(who);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, whoResponse.StatusCode);
        Assert.Equal(2, Logs(app, 4005).Count);
    }

    // HttpClient sends two values of one header as one HTTP/1.1 field joined by ", " (a list): the
    // element the proxy appended last is the caller, never an earlier one. Two separate fields on the
    // server side are refused (TryReadForwardedCaller_TwoHeaderFields_NoCaller).
    [Fact]
    public async Task AddSpiffeX509_TwoValuesFromTrustedProxy_OnlyLastElementCounts()
    {
        (_, Uri address) = await StartAsync();
        using HttpClient proxy = _host.MtlsClient(GatewayId);
        using HttpRequestMessage request = Get(address, "/who");
        request.Headers.TryAddWithoutValidation(Xfcc, [$"URI={AdminId}", $"URI={WorkloadId}"]);

        using HttpResponseMessage response = await proxy.SendAsync(request);

        Assert.Equal($"caller={WorkloadId};proxyClaim={GatewayId};feature={GatewayId}->{WorkloadId}#;peer={GatewayId}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AddSpiffeX509_ApplicationHeaderXSvid_NeverAnIdentity()
    {
        (_, Uri address) = await StartAsync();
        using HttpClient proxy = _host.MtlsClient(GatewayId);
        using HttpRequestMessage request = Get(address, "/who");
        request.Headers.TryAddWithoutValidation("x-svid", AdminId.ToString());
        request.Headers.TryAddWithoutValidation("x-spiffe-id", AdminId.ToString());

        string body = await (await proxy.SendAsync(request)).Content.ReadAsStringAsync();

        Assert.Equal($"caller={GatewayId};proxyClaim=;feature=;peer={GatewayId}", body);
    }

    [Fact]
    public async Task AddSpiffeX509_NoTrustedProxiesConfigured_HeaderIgnored()
    {
        (WebApplication app, Uri address) = await StartAsync(trusted: false);
        using HttpClient proxy = _host.MtlsClient(GatewayId);
        using HttpRequestMessage request = Get(address, "/who");
        request.Headers.TryAddWithoutValidation(Xfcc, $"URI={AdminId}");

        string body = await (await proxy.SendAsync(request)).Content.ReadAsStringAsync();

        Assert.Equal($"caller={GatewayId};proxyClaim=;feature=;peer={GatewayId}", body);
        Assert.Single(Logs(app, 4004));
    }

    private Task<(WebApplication App, Uri Address)> StartAsync(bool trusted = true) =>
        _host.StartAsync(
            builder =>
            {
                builder.Services.AddAuthentication().AddSpiffeX509(o => o.TrustedProxies = trusted ? SpiffeIdAuthorizer.Exact(GatewayId) : null);
                builder.Services.AddAuthorization(o =>
                {
                    o.AddPolicy("any", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(SpiffeIdAuthorizer.Any()));
                    o.AddPolicy("admin", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(AdminId));
                });
            },
            app =>
            {
                app.MapGet("/who", (HttpContext c) =>
                {
                    c.User.TryGetSpiffeId(out SpiffeId? caller);
                    ISpiffeForwardedCallerFeature? forwarded = c.Features.Get<ISpiffeForwardedCallerFeature>();
                    string feature = forwarded is null ? string.Empty : $"{forwarded.ProxySpiffeId}->{forwarded.CallerSpiffeId}#{forwarded.CertificateHash}";
                    return $"caller={caller};proxyClaim={c.User.FindFirst(SpiffeClaimTypes.ProxySpiffeId)?.Value};feature={feature};peer={c.GetSpiffeId()}";
                }).RequireAuthorization("any");
                app.MapGet("/admin", () => "admin").RequireAuthorization("admin");
            });
}

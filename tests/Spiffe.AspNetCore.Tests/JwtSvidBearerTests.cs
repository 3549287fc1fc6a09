using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Jwt;
using Spiffe.Testing;
using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// JWT-SVID bearer authentication end to end: a real Workload API (gRPC over a Unix socket) and a
/// JwtSource feed <see cref="JwtSvidBearerHandler"/>, whose requests reach a real Kestrel on
/// 127.0.0.1 (plain HTTP) guarded by the <c>RequireJwtSvid</c> shorthand (a JWT scheme per endpoint).
/// </summary>
public sealed class JwtSvidBearerTests : IAsyncLifetime
{
    private const string BackendAudience = "spiffe://example.org/backend";
    private static readonly TrustDomain s_domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_callerId = SpiffeId.Parse("spiffe://example.org/frontend");

    private readonly TestJwtAuthority _jwt = new(s_domain);
    private WorkloadApiServer _agent = null!;
    private JwtSource _source = null!;
    private WebApplication _app = null!;
    private Uri _address = null!;
    private int _requestsSeen;

    public async Task InitializeAsync()
    {
        _jwt.AddKey("ES256", "key-1");
        _agent = await WorkloadApiServer.StartAsync(new WorkloadApiServerOptions());
        _agent.SetJwtBundles(new Dictionary<string, byte[]> { [s_domain.Id.ToString()] = _jwt.CreateJwks() });
        _agent.SetJwtSvidMinter(request =>
            [new WorkloadApiJwtSvid(s_callerId.ToString(), _jwt.MintJwtSvid(s_callerId, request.Audiences, TimeSpan.FromMinutes(10)))]);
        _source = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = _agent.Address } }, Timeout());

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddFakeLogging();
        builder.Services.AddAuthentication();
        builder.Services.AddAuthorization();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Use((context, next) =>
        {
            Interlocked.Increment(ref _requestsSeen);
            return next(context);
        });
        _app.MapGet("/backend", (HttpContext context) =>
        {
            JwtSvid svid = context.GetJwtSvid();
            return $"{svid.Id}|{context.GetJwtSvid().Claims["aud"].GetRawText()}";
        }).RequireJwtSvid(_source, BackendAudience);

        var validator = new JwtSvidValidator(_source, [BackendAudience]);
        _app.MapGet("/frontend-only", () => "ok").RequireJwtSvid(validator, SpiffeIdAuthorizer.Exact(s_callerId));
        _app.MapGet("/admin-only", () => "ok").RequireJwtSvid(validator, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/admin")));

        // The server's clock is an hour ahead, so every token the agent mints is expired here.
        var lateClock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1));
        _app.MapGet("/late", () => "ok").RequireJwtSvid(new JwtSvidValidator(_source, [BackendAudience], lateClock));
        _app.MapGet("/echo-authorization", (HttpContext context) =>
            $"{context.Request.Headers.Authorization}|{(context.TryGetJwtSvid(out _) ? "validated" : "not validated")}");
        await _app.StartAsync();
        _address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _source.DisposeAsync();
        await _agent.DisposeAsync();
        _jwt.Dispose();
    }

    [Fact]
    public async Task BearerHandler_ToGuardedEndpoint_EndpointSeesCallerIdAndAudience()
    {
        using HttpClient http = BearerClient([BackendAudience]);

        using HttpResponseMessage response = await http.GetAsync(new Uri(_address, "/backend"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string[] parts = (await response.Content.ReadAsStringAsync()).Split('|');
        Assert.Equal(s_callerId.ToString(), parts[0]);
        Assert.Equal([BackendAudience], JsonSerializer.Deserialize<string[]>(parts[1])!);
    }

    [Fact]
    public async Task BearerHandler_SendsExactlyBearerSchemeAndCachesToken()
    {
        using HttpClient http = BearerClient([BackendAudience]);

        string first = await http.GetStringAsync(new Uri(_address, "/echo-authorization"));
        string second = await http.GetStringAsync(new Uri(_address, "/echo-authorization"));

        JwtSvid expected = await _source.GetJwtSvidAsync(new JwtSvidRequest([BackendAudience]));
        Assert.Equal($"Bearer {expected.Token}|not validated", first);
        Assert.Equal(first, second);
        Assert.Single(_agent.Calls, c => c.Method == WorkloadApiMethod.FetchJwtSvid);
    }

    [Fact]
    public async Task BearerHandler_SynchronousSend_AlsoAuthenticates()
    {
        using HttpClient http = BearerClient([BackendAudience]);

        using HttpResponseMessage response = await Task.Run(() => http.Send(new HttpRequestMessage(HttpMethod.Get, new Uri(_address, "/backend"))));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith(s_callerId + "|", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoAuthorizationHeaders_Unauthorized()
    {
        JwtSvid svid = await _source.GetJwtSvidAsync(new JwtSvidRequest([BackendAudience]));
        using HttpClient http = PlainClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, "/backend"));
        request.Headers.TryAddWithoutValidation("Authorization", ["Bearer " + svid.Token, "Bearer " + svid.Token]);

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/frontend-only", HttpStatusCode.OK)]
    [InlineData("/admin-only", HttpStatusCode.Forbidden)]
    public async Task RequireJwtSvidWithAuthorizer_ValidToken_AllowedOrForbidden(string path, HttpStatusCode expected)
    {
        using HttpClient http = BearerClient([BackendAudience]);

        using HttpResponseMessage response = await http.GetAsync(new Uri(_address, path));

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task RequireJwtSvidWithAuthorizer_NoToken_Unauthorized()
    {
        using HttpClient http = PlainClient();

        using HttpResponseMessage response = await http.GetAsync(new Uri(_address, "/frontend-only"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task LowercaseBearerScheme_Accepted()
    {
        JwtSvid svid = await _source.GetJwtSvidAsync(new JwtSvidRequest([BackendAudience]));
        using HttpClient http = PlainClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, "/backend"));
        request.Headers.TryAddWithoutValidation("Authorization", "bearer " + svid.Token);

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task WrongAudience_Unauthorized()
    {
        using HttpClient http = BearerClient(["spiffe://example.org/someone-else"]);

        using HttpResponseMessage response = await http.GetAsync(new Uri(_address, "/backend"));

        // The caller learns only that the token is invalid; the expected audiences go to the log.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(GenericInvalidToken, Assert.Single(response.Headers.WwwAuthenticate).ToString());
        Assert.Equal(string.Empty, await response.Content.ReadAsStringAsync());
        Assert.Contains(Rejections(), m => m.Contains("audience", StringComparison.Ordinal) && m.Contains(BackendAudience, StringComparison.Ordinal));
    }

    [Fact]
    public async Task MissingHeader_UnauthorizedWithBearerChallenge()
    {
        using HttpClient http = PlainClient();

        using HttpResponseMessage response = await http.GetAsync(new Uri(_address, "/backend"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        AuthenticationHeaderValue challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Null(challenge.Parameter);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer a b")]
    public async Task MalformedBearerHeader_UnauthorizedInvalidRequest(string authorization)
    {
        using HttpClient http = PlainClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, "/backend"));
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        string challenge = Assert.Single(response.Headers.WwwAuthenticate).ToString();
        Assert.StartsWith("Bearer error=\"invalid_request\"", challenge, StringComparison.Ordinal);
    }

    // Another scheme's credential is not a bearer token at all: the challenge just asks for one (RFC 6750 §3.1).
    [Theory]
    [InlineData("Basic xyz")]
    [InlineData("Bearerxyz")]
    public async Task OtherScheme_UnauthorizedWithPlainBearerChallenge(string authorization)
    {
        using HttpClient http = PlainClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, "/backend"));
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString());
    }

    [Fact]
    public async Task TokenSignedByKeyNotInBundle_UnauthorizedWithoutEchoingToken()
    {
        using var rogue = new TestJwtAuthority(s_domain);
        rogue.AddKey("ES256", "key-1"); // same key ID, different key
        string token = rogue.MintJwtSvid(s_callerId, [BackendAudience]);
        using HttpClient http = PlainClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, "/backend"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        string challenge = Assert.Single(response.Headers.WwwAuthenticate).ToString();
        Assert.Equal(GenericInvalidToken, challenge);
        Assert.DoesNotContain(token, body, StringComparison.Ordinal);
        Assert.Contains(Rejections(), m => m.Contains("signature", StringComparison.Ordinal));
        Assert.DoesNotContain(Rejections(), m => m.Contains(token.Split('.')[2], StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExpiredToken_Unauthorized()
    {
        using HttpClient http = BearerClient([BackendAudience]);

        using HttpResponseMessage response = await http.GetAsync(new Uri(_address, "/late"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("expired", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(GenericInvalidToken, Assert.Single(response.Headers.WwwAuthenticate).ToString());
        Assert.Contains(Rejections(), m => m.Contains("expired", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CallerSetAuthorization_PreservedAndNoTokenFetched()
    {
        using HttpClient http = BearerClient([BackendAudience]);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, "/echo-authorization"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "Y2FsbGVyOnNlY3JldA==");

        using HttpResponseMessage response = await http.SendAsync(request);

        Assert.Equal("Basic Y2FsbGVyOnNlY3JldA==|not validated", await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(_agent.Calls, c => c.Method == WorkloadApiMethod.FetchJwtSvid);
    }

    [Fact]
    public async Task WorkloadApiDenies_RequestFailsAndIsNotSent()
    {
        _agent.InjectError(WorkloadApiMethod.FetchJwtSvid, StatusCode.PermissionDenied, 1, "no identity issued");
        using HttpClient http = BearerClient([BackendAudience]);

        WorkloadApiException e = await Assert.ThrowsAsync<WorkloadApiException>(() => http.GetAsync(new Uri(_address, "/backend")));

        Assert.Equal(WorkloadApiErrorKind.PermissionDenied, e.Kind);
        Assert.Contains(BackendAudience, e.Message, StringComparison.Ordinal);
        Assert.Contains("not sent", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref _requestsSeen));
    }

    [Fact]
    public void BearerHandler_NoAudience_Throws()
    {
        Assert.Throws<ArgumentException>(() => new JwtSvidBearerHandler(_source, []));
        Assert.Throws<ArgumentException>(() => new JwtSvidBearerHandler(_source, [""]));
        Assert.Throws<ArgumentNullException>(() => new JwtSvidBearerHandler(null!, ["a"]));
    }

    [Fact]
    public void GetJwtSvid_WithoutValidation_Throws()
    {
        var context = new DefaultHttpContext();

        Assert.False(context.TryGetJwtSvid(out JwtSvid? svid));
        Assert.Null(svid);
        Assert.Throws<InvalidOperationException>(() => context.GetJwtSvid());
    }

    private const string GenericInvalidToken = "Bearer error=\"invalid_token\", error_description=\"The bearer token is not a valid JWT-SVID for this service.\"";

    // Event 4001: the scheme's log of a rejected token, with the reason.
    private string[] Rejections() =>
        [.. _app.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == 4001).Select(r => r.Message)];

    private HttpClient BearerClient(IReadOnlyCollection<string> audiences) =>
        new(new JwtSvidBearerHandler(_source, audiences, innerHandler: new SocketsHttpHandler())) { Timeout = TimeSpan.FromSeconds(20) };

    private static HttpClient PlainClient() => new() { Timeout = TimeSpan.FromSeconds(20) };

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;
}

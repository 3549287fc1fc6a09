using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Conformance.Tests;

[Collection(HarnessProcesses.Name)]
public sealed class ControlPortTests(SharedHarness shared) : IDisposable
{
    private static readonly SpiffeId s_caller = SpiffeId.Parse("spiffe://example.org/caller");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Info_Get_ReturnsCsharpAndSdkInformationalVersion()
    {
        (HttpStatusCode code, JsonElement body) = await GetAsync("/v1/info");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.Equal("csharp", body.GetProperty("language").GetString());
        Assert.Equal("spiffe-dotnet", body.GetProperty("sdk").GetString());
        string expected = typeof(X509Svid).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(expected, body.GetProperty("sdk_version").GetString());
    }

    [Fact]
    public async Task JwtValidate_ValidToken_ReturnsOkWithSpiffeIdAndClaims()
    {
        string token = shared.Agent.Jwt.MintJwtSvid(s_caller, ["backend"]);

        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/jwt/validate", new { token, audience = "backend" });

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.Equal(s_caller.ToString(), body.GetProperty("spiffe_id").GetString());
        JsonElement claims = body.GetProperty("claims");
        Assert.Equal(s_caller.ToString(), claims.GetProperty("sub").GetString());
        Assert.True(claims.TryGetProperty("exp", out _));
    }

    [Fact]
    public async Task JwtValidate_WrongAudience_Returns422Rejected()
    {
        string token = shared.Agent.Jwt.MintJwtSvid(s_caller, ["backend"]);

        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/jwt/validate", new { token, audience = "someone-else" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Equal("rejected", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task JwtValidate_BadSignature_Returns422Rejected()
    {
        string token = TestJwtAuthority.FlipSignatureBit(shared.Agent.Jwt.MintJwtSvid(s_caller, ["backend"]));

        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/jwt/validate", new { token, audience = "backend" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Equal("rejected", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task JwtValidate_SignedByKeyNotInBundle_Returns422Rejected()
    {
        using var other = new TestJwtAuthority(ConformanceAgent.Domain);
        other.AddKey("ES256", "key-1"); // same key ID, different key
        string token = other.MintJwtSvid(s_caller, ["backend"]);

        (HttpStatusCode code, _) = await PostAsync("/v1/jwt/validate", new { token, audience = "backend" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
    }

    [Fact]
    public async Task JwtFetch_TwoAudiences_CallsWorkloadApiEachTimeWithExactlyThoseAudiences()
    {
        int before = FetchJwtSvidCalls().Count;

        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/jwt/fetch", new { audience = new[] { "a", "b" }, spiffe_id = "" });
        (HttpStatusCode again, _) = await PostAsync("/v1/jwt/fetch", new { audience = new[] { "a", "b" }, spiffe_id = "" });

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(HttpStatusCode.OK, again);
        JsonElement svid = Assert.Single(body.GetProperty("svids").EnumerateArray());
        Assert.Equal(ConformanceAgent.HarnessId.ToString(), svid.GetProperty("spiffe_id").GetString());
        Assert.Equal("internal", svid.GetProperty("hint").GetString());
        Assert.Equal(3, svid.GetProperty("token").GetString()!.Split('.').Length);
        IReadOnlyList<RecordedCall> calls = FetchJwtSvidCalls();
        Assert.Equal(before + 2, calls.Count); // never served from a cache
        Assert.Equal(["a", "b"], calls[^1].Audiences);
        Assert.True(string.IsNullOrEmpty(calls[^1].SpiffeId));
    }

    [Fact]
    public async Task JwtFetch_WithSubject_SendsSubjectToWorkloadApi()
    {
        (HttpStatusCode code, _) = await PostAsync("/v1/jwt/fetch", new { audience = new[] { "a" }, spiffe_id = ConformanceAgent.HarnessId.ToString() });

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(ConformanceAgent.HarnessId.ToString(), FetchJwtSvidCalls()[^1].SpiffeId);
    }

    [Fact]
    public async Task JwtFetch_WorkloadApiDeniesIdentity_Returns422RejectedNotCachedToken()
    {
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("/v1/jwt/fetch", new { audience = new[] { "cached?" } })).Code);
        shared.Agent.Server.InjectError(WorkloadApiMethod.FetchJwtSvid, StatusCode.PermissionDenied, 1);

        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/jwt/fetch", new { audience = new[] { "cached?" } });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Equal("rejected", body.GetProperty("status").GetString());
        Assert.False(body.TryGetProperty("svids", out _));
    }

    [Fact]
    public async Task JwtFetch_WorkloadApiUnavailable_Returns500Error()
    {
        shared.Agent.Server.InjectError(WorkloadApiMethod.FetchJwtSvid, StatusCode.Unavailable, 1);

        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/jwt/fetch", new { audience = new[] { "x" } });

        Assert.Equal(HttpStatusCode.InternalServerError, code);
        Assert.Equal("error", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task X509Dial_SdkServerOfSameTrustDomain_ReturnsServerIdAndPresentsHarnessSvid()
    {
        using X509Svid serverSvid = shared.Agent.Ca.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/backend"));
        await using TlsProbe.SdkServer server = TlsProbe.StartServer(serverSvid, shared.Agent.Bundle);

        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/x509/dial", new { address = server.Address });

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.Equal("spiffe://example.org/backend", body.GetProperty("spiffe_id").GetString());
        Assert.Equal(ConformanceAgent.HarnessId, await server.ClientId.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task X509Dial_ServerSvidFromAnotherCa_Returns422Rejected()
    {
        using X509Svid serverSvid = shared.Agent.ForeignCa.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/impostor"));
        await using TlsProbe.SdkServer server = TlsProbe.StartServer(serverSvid, shared.Agent.Bundle);

        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/x509/dial", new { address = server.Address });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Equal("rejected", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task UnknownV1Endpoint_Returns501Unsupported()
    {
        (HttpStatusCode code, JsonElement body) = await PostAsync("/v1/x509/fetch-something-new", new { });

        Assert.Equal(HttpStatusCode.NotImplemented, code);
        Assert.Equal("unsupported", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task JwtValidate_BodyNotJson_Returns400WithStatus()
    {
        using var content = new StringContent("{not json", Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.PostAsync(Url("/v1/jwt/validate"), content);
        using JsonDocument body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("bad_request", body.RootElement.GetProperty("status").GetString());
    }

    private IReadOnlyList<RecordedCall> FetchJwtSvidCalls() => [.. shared.Agent.Server.Calls.Where(c => c.Method == WorkloadApiMethod.FetchJwtSvid)];

    private Uri Url(string path) => new($"http://127.0.0.1:{shared.ControlPort}{path}");

    private async Task<(HttpStatusCode Code, JsonElement Body)> GetAsync(string path)
    {
        using HttpResponseMessage response = await _http.GetAsync(Url(path));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private async Task<(HttpStatusCode Code, JsonElement Body)> PostAsync(string path, object body)
    {
        using var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.PostAsync(Url(path), content);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }
}

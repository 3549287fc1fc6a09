using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Credentials;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests.Credentials;

/// <summary>Vault JWT auth login with a JWT-SVID from a real JwtSource, against an in-test server speaking Vault's documented shapes.</summary>
public sealed class VaultTokenSourceTests
{
    private const string Token = "hvs.CAESIJ-secret-token";

    private static string LoginAnswer(long lease) =>
        $$$"""{"request_id":"1","lease_id":"","renewable":false,"lease_duration":0,"data":null,"auth":{"client_token":"{{{Token}}}","accessor":"acc","policies":["default","orders"],"token_policies":["default","orders"],"metadata":{"role":"orders"},"lease_duration":{{{lease}}},"renewable":true,"entity_id":"e","token_type":"service","orphan":true}}""";

    [Fact]
    public async Task GetTokenAsync_VaultAnswers_PostsRoleAndJwtSvidAndReturnsToken()
    {
        await using TestAgent agent = await StartAgentAsync();
        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using CredentialServer vault = await CredentialServer.StartAsync();
        vault.Answer = (200, "application/json", LoginAnswer(3600));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var source = new VaultTokenSource(new VaultTokenSourceOptions
        {
            VaultAddress = vault.Address, Mount = "spiffe-jwt", Role = "orders", JwtSvidSource = jwt, Audiences = { "vault" }, Namespace = "team-a", TimeProvider = time,
        });

        VaultToken token = await source.GetTokenAsync(TestAgent.Timeout());

        Assert.Equal(Token, token.ClientToken);
        Assert.True(token.Renewable);
        Assert.Equal(time.GetUtcNow().AddHours(1), token.ExpiresAt);
        ReceivedRequest request = Assert.Single(vault.Requests);
        Assert.Equal(("POST", "/v1/auth/spiffe-jwt/login"), (request.Method, request.Path));
        Assert.StartsWith("application/json", request.ContentType, StringComparison.Ordinal);
        Assert.Equal("team-a", request.Headers["X-Vault-Namespace"]);
        using JsonDocument body = JsonDocument.Parse(request.Body);
        Assert.Equal("orders", body.RootElement.GetProperty("role").GetString());
        JwtSvid presented = JwtSvid.ParseAndValidate(body.RootElement.GetProperty("jwt").GetString()!, agent.Jwt.CreateJwtBundle(), ["vault"]);
        Assert.Equal(TestAgent.Web, presented.Id);
        Assert.DoesNotContain(Token, token.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTokenAsync_Repeated_CachedUntilShortlyBeforeLeaseEnds()
    {
        await using TestAgent agent = await StartAgentAsync();
        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using CredentialServer vault = await CredentialServer.StartAsync();
        vault.Answer = (200, "application/json", LoginAnswer(3600));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var source = new VaultTokenSource(new VaultTokenSourceOptions
        {
            VaultAddress = vault.Address, Role = "orders", JwtSvidSource = jwt, Audiences = { "vault" }, TimeProvider = time, RefreshBefore = TimeSpan.FromMinutes(1),
        });

        await source.GetTokenAsync(TestAgent.Timeout());
        time.Advance(TimeSpan.FromMinutes(58) + TimeSpan.FromSeconds(59));
        await source.GetTokenAsync(TestAgent.Timeout());
        Assert.Single(vault.Requests);

        time.Advance(TimeSpan.FromSeconds(2));
        await source.GetTokenAsync(TestAgent.Timeout());
        Assert.Equal(2, vault.Requests.Count);
        Assert.Equal("/v1/auth/jwt/login", vault.Requests.Last().Path);
    }

    [Fact]
    public async Task GetTokenAsync_VaultRefuses_ThrowsWithVaultErrorAndRetriesNextCall()
    {
        await using TestAgent agent = await StartAgentAsync();
        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using CredentialServer vault = await CredentialServer.StartAsync();
        vault.Answer = (400, "application/json", """{"errors":["error validating token: invalid audience (aud) claim: audience claim does not match any expected audience"]}""");
        await using var source = new VaultTokenSource(new VaultTokenSourceOptions { VaultAddress = vault.Address, Role = "orders", JwtSvidSource = jwt, Audiences = { "vault" } });

        CredentialExchangeException e = await Assert.ThrowsAsync<CredentialExchangeException>(() => source.GetTokenAsync(TestAgent.Timeout()).AsTask());

        Assert.Contains("HTTP 400: error validating token: invalid audience", e.Message, StringComparison.Ordinal);
        string presented = JsonDocument.Parse(vault.Requests.Single().Body).RootElement.GetProperty("jwt").GetString()!;
        Assert.DoesNotContain(presented, e.Message, StringComparison.Ordinal);

        vault.Answer = (200, "application/json", LoginAnswer(600));
        Assert.Equal(Token, (await source.GetTokenAsync(TestAgent.Timeout())).ClientToken);
    }

    [Theory]
    [InlineData("""{"auth":null}""")]
    [InlineData("""{"auth":{"client_token":"","lease_duration":60}}""")]
    [InlineData("""{"auth":{"client_token":"t","lease_duration":0}}""")]
    [InlineData("<html>proxy</html>")]
    public async Task GetTokenAsync_MalformedAnswer_Throws(string answer)
    {
        await using TestAgent agent = await StartAgentAsync();
        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using CredentialServer vault = await CredentialServer.StartAsync();
        vault.Answer = (200, "application/json", answer);
        await using var source = new VaultTokenSource(new VaultTokenSourceOptions { VaultAddress = vault.Address, Role = "orders", JwtSvidSource = jwt, Audiences = { "vault" } });

        CredentialExchangeException e = await Assert.ThrowsAsync<CredentialExchangeException>(() => source.GetTokenAsync(TestAgent.Timeout()).AsTask());

        Assert.Contains("auth.client_token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_MissingRole_Throws() =>
        Assert.ThrowsAny<ArgumentException>(() => new VaultTokenSource(new VaultTokenSourceOptions { VaultAddress = new Uri("https://vault:8200"), Audiences = { "vault" } }));

    internal static async Task<TestAgent> StartAgentAsync()
    {
        TestAgent agent = await TestAgent.StartAsync();
        agent.ServeJwtBundles();
        agent.Server.SetJwtSvidMinter(request =>
            [new WorkloadApiJwtSvid(TestAgent.Web.ToString(), agent.Jwt.MintJwtSvid(TestAgent.Web, request.Audiences, TimeSpan.FromMinutes(10)))]);
        return agent;
    }
}

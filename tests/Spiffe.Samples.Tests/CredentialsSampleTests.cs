using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.Samples.Tests;

/// <summary>The credentials sample as a process: a JWT-SVID traded for a Vault token and AWS credentials.</summary>
public sealed class CredentialsSampleTests
{
    private const string Sample = "Spiffe.Samples.Credentials";
    private static readonly SpiffeId Payments = SpiffeId.Parse("spiffe://example.org/payments");

    [Fact]
    public async Task Credentials_NoAgentNoEndpoints_TradesJwtSvidWithLocalStandInAndPrintsNoSecret()
    {
        // No SPIFFE_ENDPOINT_SOCKET, no --vault-url / --sts-url: the one-command run from the README.
        await using SampleProcess sample = SampleProcess.Start(Sample, "");

        int exitCode = await sample.WaitForExitAsync(SampleService.Timeout);

        string output = sample.Output;
        Assert.True(exitCode == 0, output);
        Assert.Contains("embedded development agent", output, StringComparison.Ordinal);
        Assert.Contains("LOCAL STAND-IN (not Vault, not AWS", output, StringComparison.Ordinal);
        Assert.Contains("jwt-svid: sub spiffe://example.org/orders, aud vault,", output, StringComparison.Ordinal);
        Assert.Contains("jwt-svid: sub spiffe://example.org/orders, aud sts.amazonaws.com,", output, StringComparison.Ordinal);
        Assert.Matches(@"vault: token obtained, lease ends \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, renewable true", output);
        Assert.Matches(@"aws: access key ID ASIA[A-Z2-7]{16}, expires ", output);
        Assert.Contains("the same credentials came from the cache (stand-in saw 1 Vault login(s), 1 STS call(s))", output, StringComparison.Ordinal);
        Assert.Contains("credentials sample OK: traded the JWT-SVID for a Vault token and AWS credentials", output, StringComparison.Ordinal);
        Assert.DoesNotContain("standin-secret", output, StringComparison.Ordinal); // every stand-in token and key holds this marker
        Assert.DoesNotContain("eyJ", output, StringComparison.Ordinal);            // nor a JWT (its header starts so)
    }

    [Fact]
    public async Task Credentials_GivenAgentAndEndpoints_PresentsItsJwtSvidThereAndReportsStsRefusal()
    {
        var agentOptions = new DevelopmentAgentOptions { TrustDomain = TrustDomain.Parse("example.org") };
        agentOptions.Ids.Add(SampleService.Intruder); // the default identity: the sample must ask for --id
        agentOptions.Ids.Add(Payments);
        await using DevelopmentAgent agent = await DevelopmentAgent.StartAsync(agentOptions);
        await using FakeService vault = await FakeService.StartAsync(200, "application/json",
            """{"request_id":"1","auth":{"client_token":"hvs.fake-secret-token","accessor":"a","policies":["default"],"lease_duration":1800,"renewable":false}}""");
        await using FakeService sts = await FakeService.StartAsync(403, "text/xml", """
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>
              <RequestId>4</RequestId>
            </ErrorResponse>
            """);

        await using SampleProcess sample = SampleProcess.Start(Sample, agent.Address,
            "--id", Payments.ToString(), "--vault-url", vault.Address.ToString(), "--vault-mount", "spiffe", "--vault-role", "payments", "--vault-audience", "vault-prod",
            "--sts-url", sts.Address.ToString(), "--role-arn", "arn:aws:iam::210987654321:role/payments");
        int exitCode = await sample.WaitForExitAsync(SampleService.Timeout);

        string output = sample.Output;
        Assert.True(exitCode == 1, output);
        Assert.DoesNotContain("STAND-IN", output, StringComparison.Ordinal);
        Assert.Contains($"workload api: {agent.Address} (SPIFFE_ENDPOINT_SOCKET)", output, StringComparison.Ordinal);
        Assert.Contains("vault: token obtained", output, StringComparison.Ordinal);
        Assert.DoesNotContain("fake-secret", output, StringComparison.Ordinal);
        Assert.Contains("err: error: ", output, StringComparison.Ordinal);
        Assert.Contains("HTTP 403, AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity", output, StringComparison.Ordinal);
        Assert.Contains("credentials sample FAILED", output, StringComparison.Ordinal);

        // Vault got its documented login, with the JWT-SVID of --id for the role's audience, signed by the trust domain.
        (string path, string body) = Assert.Single(vault.Requests);
        Assert.Equal("/v1/auth/spiffe/login", path);
        using JsonDocument login = JsonDocument.Parse(body);
        Assert.Equal("payments", login.RootElement.GetProperty("role").GetString());
        JwtSvid toVault = JwtSvid.ParseAndValidate(login.RootElement.GetProperty("jwt").GetString()!, agent.JwtAuthority.CreateJwtBundle(), ["vault-prod"]);
        Assert.Equal(Payments, toVault.Id);

        // STS got AssumeRoleWithWebIdentity for the role, with the JWT-SVID for sts.amazonaws.com as the web identity token.
        (string stsPath, string stsBody) = Assert.Single(sts.Requests);
        Assert.Equal("/", stsPath);
        var form = HttpUtility.ParseQueryString(stsBody);
        Assert.Equal(("AssumeRoleWithWebIdentity", "arn:aws:iam::210987654321:role/payments"), (form["Action"], form["RoleArn"]));
        Assert.Equal(Payments, JwtSvid.ParseAndValidate(form["WebIdentityToken"]!, agent.JwtAuthority.CreateJwtBundle(), ["sts.amazonaws.com"]).Id);
    }

    [Fact]
    public async Task Credentials_UnknownOption_ExitsWithUsage()
    {
        await using SampleProcess sample = SampleProcess.Start(Sample, "", "--vault-adress", "https://vault:8200");

        int exitCode = await sample.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 2, sample.Output);
        Assert.Contains("Unknown option(s) --vault-adress", sample.Output, StringComparison.Ordinal);
    }

    /// <summary>A loopback HTTP server that records each request and gives one fixed answer (a real Vault or STS endpoint's role).</summary>
    private sealed class FakeService : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeService(WebApplication app) => _app = app;

        public Uri Address { get; private set; } = null!;

        public ConcurrentQueue<(string Path, string Body)> Requests { get; } = new();

        public static async Task<FakeService> StartAsync(int status, string contentType, string answer)
        {
            WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrelCore().ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0));
            WebApplication app = builder.Build();
            var fake = new FakeService(app);
            app.Run(async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                fake.Requests.Enqueue((context.Request.Path.Value ?? "", await reader.ReadToEndAsync(context.RequestAborted)));
                context.Response.StatusCode = status;
                context.Response.ContentType = contentType;
                await context.Response.WriteAsync(answer, context.RequestAborted);
            });
            await app.StartAsync();
            fake.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/') + "/");
            return fake;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

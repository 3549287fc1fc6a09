using System.Net.Security;
using System.Text.Json;
using Spiffe.Tests.Shared;

// The scenarios start real processes (an agent, payment-processor, checkout-service per call) on a
// shared two-core machine: one at a time keeps each within its timeouts.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Spiffe.ZeroTrust.Tests;

/// <summary>samples/ZeroTrust end to end with the configuration rules: real processes, real mTLS, the Workload API test server.</summary>
public sealed class RulesScenarioTests(RulesScenario scenario) : IClassFixture<RulesScenario>
{
    [Fact]
    public async Task Checkout_PostPayment_Allowed200AndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--call", "POST /v1/payments");

        Assert.True(exitCode == 0, output + scenario.ProcessorOutput);
        Assert.Contains($"POST /v1/payments -> 200 {{\"status\":\"accepted\",\"caller\":\"{ZeroTrustScenario.Checkout}\"}}", output, StringComparison.Ordinal);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/payments" && e["Caller"] == ZeroTrustScenario.Checkout.ToString() && e["StatusCode"] == "200");
        Assert.Equal("POST", audit["Method"]);
        Assert.Equal("allowed", audit["Decision"]);
        Assert.Equal("payments", audit["Policy"]);
        Assert.Equal("rules", audit["DecisionSource"]);
        Assert.Equal("0", audit["RuleIndex"]); // Spiffe:Authorization:Rules:0 in appsettings.json
        Assert.Equal("mtls+jwt-svid", audit["Authentication"]);
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Peer"]);
        Assert.Equal("payment-processor", audit["JwtAudience"]);
    }

    [Fact]
    public async Task Checkout_PostRefund_NotInTheRules_Forbidden403AndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--call", "POST /v1/refunds");

        Assert.True(exitCode == 1, output);
        Assert.Contains("POST /v1/refunds -> 403", output, StringComparison.Ordinal);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/refunds");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Caller"]);
        Assert.Equal("403", audit["StatusCode"]);
        Assert.Equal("forbidden", audit["Decision"]);
        Assert.Equal("rules", audit["DecisionSource"]);
        Assert.Null(audit["RuleIndex"]); // no rule matched: denied by default
    }

    [Fact]
    public async Task OtherWorkloadOfTheTrustDomain_PostPayment_Forbidden403AndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--id", ZeroTrustScenario.Storefront.ToString(), "--call", "POST /v1/payments");

        Assert.True(exitCode == 1, output);
        Assert.Contains("POST /v1/payments -> 403", output, StringComparison.Ordinal);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Caller"] == ZeroTrustScenario.Storefront.ToString());
        Assert.Equal("403", audit["StatusCode"]);
        Assert.Equal("forbidden", audit["Decision"]);
        Assert.Equal("rules", audit["DecisionSource"]);
    }

    [Fact]
    public async Task Checkout_WithoutJwtSvid_Forbidden403AndAudited()
    {
        // The mTLS peer is authenticated, but the policy also needs a JWT-SVID of that same caller:
        // an authenticated caller that fails a requirement gets 403 (ASP.NET Core's Forbid), not 401.
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--without-jwt", "--call", "POST /v1/payments");

        Assert.True(exitCode == 1, output);
        Assert.Contains("POST /v1/payments -> 403", output, StringComparison.Ordinal);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Authentication"] == "mtls" && e["Path"] == "/v1/payments");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Caller"]);
        Assert.Equal("403", audit["StatusCode"]);
        Assert.Equal("forbidden", audit["Decision"]);
        Assert.Null(audit["JwtSubject"]);
        // The rules allowed the call; the JWT-SVID binding refused it: no decision source takes the blame, the reason says why.
        Assert.Null(audit["DecisionSource"]);
        Assert.Contains("no JWT-SVID", audit["Reason"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoClientCertificate_RefusedInTheHandshakeAndAudited()
    {
        await ZeroTrustAssert.RefusedWithoutClientCertificateAsync(scenario.Address);

        AuditEntry audit = await scenario.WaitForAuditAsync(4101, _ => true);
        Assert.StartsWith("127.0.0.1:", audit["RemoteAddress"], StringComparison.Ordinal);
        Assert.Null(audit["Peer"]); // nothing presented
    }
}

/// <summary>samples/ZeroTrust end to end with OPA as the decision point (an in-test server speaking OPA's Data API).</summary>
public sealed class OpaScenarioTests(OpaScenario scenario) : IClassFixture<OpaScenario>
{
    [Fact]
    public async Task Checkout_PostPayment_OpaAllows200AndAuditedWithDecisionId()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--call", "POST /v1/payments");

        Assert.True(exitCode == 0, output + scenario.ProcessorOutput);
        Assert.Contains($"POST /v1/payments -> 200 {{\"status\":\"accepted\",\"caller\":\"{ZeroTrustScenario.Checkout}\"}}", output, StringComparison.Ordinal);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/payments" && e["Caller"] == ZeroTrustScenario.Checkout.ToString());
        Assert.Equal("200", audit["StatusCode"]);
        Assert.Equal("allowed", audit["Decision"]);
        Assert.Equal("opa", audit["DecisionSource"]);
        OpaDataApiTestServer.Decision decision = Assert.Single(scenario.Pdp.Decisions, d => d.DecisionId == audit["DecisionId"]);
        Assert.Equal("true", decision.Result);
        Assert.Equal("http/authz/allow", decision.Path);

        // The input document that policy.rego reads (docs/opa.md, version 1).
        Assert.Equal(1, decision.Input.GetProperty("version").GetInt32());
        JsonElement caller = decision.Input.GetProperty("caller");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), caller.GetProperty("spiffe_id").GetString());
        Assert.Equal("prod.example.com", caller.GetProperty("trust_domain").GetString());
        Assert.Equal("jwt_svid", caller.GetProperty("authentication").GetString());
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), caller.GetProperty("mtls_peer").GetString());
        Assert.Equal("payment-processor", caller.GetProperty("jwt").GetProperty("audience")[0].GetString());
        JsonElement request = decision.Input.GetProperty("request");
        Assert.Equal("POST", request.GetProperty("method").GetString());
        Assert.Equal("/v1/payments", request.GetProperty("path").GetString());
        Assert.Equal("/v1/payments", request.GetProperty("route").GetString());
    }

    [Fact]
    public async Task Checkout_PostRefund_OpaDenies403AndAuditedWithDecisionId()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--call", "POST /v1/refunds");

        Assert.True(exitCode == 1, output);
        Assert.Contains("POST /v1/refunds -> 403", output, StringComparison.Ordinal);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/refunds");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Caller"]);
        Assert.Equal("403", audit["StatusCode"]);
        Assert.Equal("forbidden", audit["Decision"]);
        Assert.Equal("opa", audit["DecisionSource"]);
        OpaDataApiTestServer.Decision decision = Assert.Single(scenario.Pdp.Decisions, d => d.DecisionId == audit["DecisionId"]);
        Assert.Equal("false", decision.Result);
        Assert.Equal("/v1/refunds", decision.Input.GetProperty("request").GetProperty("path").GetString());
    }

    [Fact]
    public async Task OtherWorkloadOfTheTrustDomain_PostPayment_OpaDenies403AndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--id", ZeroTrustScenario.Storefront.ToString(), "--call", "POST /v1/payments");

        Assert.True(exitCode == 1, output);
        Assert.Contains("POST /v1/payments -> 403", output, StringComparison.Ordinal);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Caller"] == ZeroTrustScenario.Storefront.ToString());
        Assert.Equal("403", audit["StatusCode"]);
        Assert.Equal("opa", audit["DecisionSource"]);
        OpaDataApiTestServer.Decision decision = Assert.Single(scenario.Pdp.Decisions, d => d.DecisionId == audit["DecisionId"]);
        Assert.Equal("false", decision.Result);
    }
}

/// <summary>samples/ZeroTrust end to end with OPA down: fail closed.</summary>
public sealed class OpaDownScenarioTests(OpaDownScenario scenario) : IClassFixture<OpaDownScenario>
{
    [Fact]
    public async Task Checkout_PostPayment_PdpUnreachable_503WithRetryAfterAndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--call", "POST /v1/payments");

        Assert.True(exitCode == 1, output);
        Assert.Contains("POST /v1/payments -> 503 (Retry-After: 1)", output, StringComparison.Ordinal);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/payments");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Caller"]);
        Assert.Equal("503", audit["StatusCode"]);
        Assert.Equal("forbidden", audit["Decision"]);
        Assert.Equal("opa", audit["DecisionSource"]);
        Assert.Null(audit["DecisionId"]); // OPA never answered
        Assert.Contains("OPA unavailable", audit["Reason"], StringComparison.Ordinal);
    }
}

internal static class ZeroTrustAssert
{
    public static async Task RefusedWithoutClientCertificateAsync(string address)
    {
        using var handler = new SocketsHttpHandler
        {
            // Only to reach the client-certificate step: this client presents no certificate.
#pragma warning disable CA5359 // The server is not being authenticated here; the test is about what the server does.
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
#pragma warning restore CA5359
        };
        using var http = new HttpClient(handler);

        await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(new Uri(new Uri(address), "/v1/payments"), null).WaitAsync(ZeroTrustScenario.Timeout));
    }
}

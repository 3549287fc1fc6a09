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

        ZeroTrustAssert.PaymentAccepted(exitCode, output, scenario.ProcessorOutput);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/payments" && e["Caller"] == ZeroTrustScenario.Checkout.ToString() && e["StatusCode"] == "200");
        ZeroTrustAssert.Audited(audit, "200", "allowed", "rules");
        Assert.Equal("POST", audit["Method"]);
        Assert.Equal("payments", audit["Policy"]);
        Assert.Equal("0", audit["RuleIndex"]); // Spiffe:Authorization:Rules:0 in appsettings.json
        Assert.Equal("mtls+jwt-svid", audit["Authentication"]);
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Peer"]);
        Assert.Equal("payment-processor", audit["JwtAudience"]);
    }

    [Fact]
    public async Task Checkout_PostRefund_NotInTheRules_Forbidden403AndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--call", "POST /v1/refunds");

        ZeroTrustAssert.CheckoutRefused(exitCode, output, "POST /v1/refunds -> 403");
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/refunds");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Caller"]);
        ZeroTrustAssert.Audited(audit, "403", "forbidden", "rules");
        Assert.Null(audit["RuleIndex"]); // no rule matched: denied by default
    }

    [Fact]
    public async Task OtherWorkloadOfTheTrustDomain_PostPayment_Forbidden403AndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--id", ZeroTrustScenario.Storefront.ToString(), "--call", "POST /v1/payments");

        ZeroTrustAssert.CheckoutRefused(exitCode, output, "POST /v1/payments -> 403");
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Caller"] == ZeroTrustScenario.Storefront.ToString());
        ZeroTrustAssert.Audited(audit, "403", "forbidden", "rules");
    }

    [Fact]
    public async Task Checkout_WithoutJwtSvid_Forbidden403AndAudited()
    {
        // The mTLS peer is authenticated, but the policy also needs a JWT-SVID of that same caller:
        // an authenticated caller that fails a requirement gets 403 (ASP.NET Core's Forbid), not 401.
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--without-jwt", "--call", "POST /v1/payments");

        ZeroTrustAssert.CheckoutRefused(exitCode, output, "POST /v1/payments -> 403");
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Authentication"] == "mtls" && e["Path"] == "/v1/payments");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Caller"]);
        // The rules allowed the call; the JWT-SVID binding refused it: no decision source takes the blame, the reason says why.
        ZeroTrustAssert.Audited(audit, "403", "forbidden", decisionSource: null);
        Assert.Null(audit["JwtSubject"]);
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

        ZeroTrustAssert.PaymentAccepted(exitCode, output, scenario.ProcessorOutput);
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/payments" && e["Caller"] == ZeroTrustScenario.Checkout.ToString());
        ZeroTrustAssert.Audited(audit, "200", "allowed", "opa");
        OpaDataApiTestServer.Decision decision = DecisionOf(audit);
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

        ZeroTrustAssert.CheckoutRefused(exitCode, output, "POST /v1/refunds -> 403");
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/refunds");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Caller"]);
        ZeroTrustAssert.Audited(audit, "403", "forbidden", "opa");
        OpaDataApiTestServer.Decision decision = DecisionOf(audit);
        Assert.Equal("false", decision.Result);
        Assert.Equal("/v1/refunds", decision.Input.GetProperty("request").GetProperty("path").GetString());
    }

    [Fact]
    public async Task OtherWorkloadOfTheTrustDomain_PostPayment_OpaDenies403AndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--id", ZeroTrustScenario.Storefront.ToString(), "--call", "POST /v1/payments");

        ZeroTrustAssert.CheckoutRefused(exitCode, output, "POST /v1/payments -> 403");
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Caller"] == ZeroTrustScenario.Storefront.ToString());
        ZeroTrustAssert.Audited(audit, "403", "forbidden", "opa");
        OpaDataApiTestServer.Decision decision = DecisionOf(audit);
        Assert.Equal("false", decision.Result);
    }

    /// <summary>The one decision the PDP made under the ID that the audit line carries.</summary>
    private OpaDataApiTestServer.Decision DecisionOf(AuditEntry audit) =>
        Assert.Single(scenario.Pdp.Decisions, d => d.DecisionId == audit["DecisionId"]);
}

/// <summary>samples/ZeroTrust end to end with OPA down: fail closed.</summary>
public sealed class OpaDownScenarioTests(OpaDownScenario scenario) : IClassFixture<OpaDownScenario>
{
    [Fact]
    public async Task Checkout_PostPayment_PdpUnreachable_503WithRetryAfterAndAudited()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--call", "POST /v1/payments");

        ZeroTrustAssert.CheckoutRefused(exitCode, output, "POST /v1/payments -> 503 (Retry-After: 1)");
        AuditEntry audit = await scenario.WaitForAuditAsync(4100, e => e["Path"] == "/v1/payments");
        Assert.Equal(ZeroTrustScenario.Checkout.ToString(), audit["Caller"]);
        ZeroTrustAssert.Audited(audit, "503", "unavailable", "opa");
        Assert.Null(audit["DecisionId"]); // OPA never answered
        Assert.Contains("OPA unavailable", audit["Reason"], StringComparison.Ordinal);
    }
}

internal static class ZeroTrustAssert
{
    /// <summary>checkout-service's POST /v1/payments got 200 with payment-processor's answer naming checkout as the caller.</summary>
    public static void PaymentAccepted(int exitCode, string output, string processorOutput)
    {
        Assert.True(exitCode == 0, output + processorOutput);
        Assert.Contains($"POST /v1/payments -> 200 {{\"status\":\"accepted\",\"caller\":\"{ZeroTrustScenario.Checkout}\"}}", output, StringComparison.Ordinal);
    }

    /// <summary>checkout-service exited 1 (its call was refused) and printed the call's outcome, e.g. "POST /v1/refunds -> 403".</summary>
    public static void CheckoutRefused(int exitCode, string output, string outcome)
    {
        Assert.True(exitCode == 1, output);
        Assert.Contains(outcome, output, StringComparison.Ordinal);
    }

    /// <summary>The audit line of an answered call: its status code, decision and decision source (null: none took the blame).</summary>
    public static void Audited(AuditEntry audit, string statusCode, string decision, string? decisionSource)
    {
        Assert.Equal(statusCode, audit["StatusCode"]);
        Assert.Equal(decision, audit["Decision"]);
        Assert.Equal(decisionSource, audit["DecisionSource"]);
    }

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

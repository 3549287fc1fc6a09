using System.Net;
using System.Net.Security;

namespace Spiffe.ZeroTrust.Tests;

/// <summary>samples/ZeroTrust end to end: real processes, real mTLS, the Workload API test server.</summary>
public sealed class ZeroTrustScenarioTests(ZeroTrustScenario scenario) : IClassFixture<ZeroTrustScenario>
{
    [Fact]
    public async Task Checkout_PostPayment_Allowed200()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--call", "POST /v1/payments");

        Assert.True(exitCode == 0, output + scenario.ProcessorOutput);
        Assert.Contains($"POST /v1/payments -> 200 {{\"status\":\"accepted\",\"caller\":\"{ZeroTrustScenario.Checkout}\"}}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherWorkloadOfTheTrustDomain_PostPayment_Forbidden403()
    {
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--id", ZeroTrustScenario.Storefront.ToString(), "--call", "POST /v1/payments");

        Assert.True(exitCode == 1, output);
        Assert.Contains("POST /v1/payments -> 403", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checkout_WithoutJwtSvid_Forbidden403()
    {
        // The mTLS peer is authenticated, but the policy also needs a JWT-SVID of that same caller:
        // an authenticated caller that fails a requirement gets 403 (ASP.NET Core's Forbid).
        (int exitCode, string output) = await scenario.RunCheckoutAsync("--without-jwt", "--call", "POST /v1/payments");

        Assert.True(exitCode == 1, output);
        Assert.Contains("POST /v1/payments -> 403", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoClientCertificate_RefusedInTheHandshake()
    {
        using var handler = new SocketsHttpHandler
        {
            // Only to reach the client-certificate step: this client presents no certificate.
#pragma warning disable CA5359 // The server is not being authenticated here; the test is about what the server does.
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
#pragma warning restore CA5359
        };
        using var http = new HttpClient(handler);

        await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(new Uri(new Uri(scenario.Address), "/v1/payments"), null).WaitAsync(ZeroTrustScenario.Timeout));
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Spiffe.Samples.Tests;

namespace Spiffe.ZeroTrust.Tests;

/// <summary>
/// samples/ZeroTrust/run.sh's stand-in PDP (not OPA) answers OPA's Data API like policy.rego and like
/// this project's in-test server, so that the run shows what the tests assert.
/// </summary>
public sealed class OpaStandInTests
{
    [Fact]
    public async Task OpaStandIn_AnswersTheDataApiLikeThePolicy()
    {
        await using SampleProcess standIn = SampleProcess.Start("Spiffe.Samples.OpaStandIn", "unix:///nonexistent/agent.sock", "--ZeroTrust:Port=0");
        string listening = await standIn.WaitForLineAsync(l => l.StartsWith("opa-stand-in (not OPA) listening on http://127.0.0.1:", StringComparison.Ordinal), ZeroTrustScenario.Timeout);
        var address = new Uri(listening.Split(' ')[^1] + "/");
        using var http = new HttpClient { BaseAddress = address, Timeout = ZeroTrustScenario.Timeout };

        JsonObject allowed = await AskAsync(http, "http/authz/allow", ZeroTrustScenario.Checkout, "POST", "/v1/payments");
        JsonObject refund = await AskAsync(http, "http/authz/allow", ZeroTrustScenario.Checkout, "POST", "/v1/refunds");
        JsonObject storefront = await AskAsync(http, "http/authz/allow", ZeroTrustScenario.Storefront, "POST", "/v1/payments");
        JsonObject undefinedDocument = await AskAsync(http, "http/authz/other", ZeroTrustScenario.Checkout, "POST", "/v1/payments");
        using var notAnObject = new StringContent("[1]", Encoding.UTF8, "application/json");
        using HttpResponseMessage badRequest = await http.PostAsync(new Uri("v1/data/http/authz/allow", UriKind.Relative), notAnObject);

        Assert.True((bool)allowed["result"]!);
        Assert.False((bool)refund["result"]!);
        Assert.False((bool)storefront["result"]!);
        Assert.False(undefinedDocument.ContainsKey("result"));
        Assert.All(new[] { allowed, refund, storefront, undefinedDocument }, a => Assert.False(string.IsNullOrEmpty((string?)a["decision_id"])));
        Assert.Equal(400, (int)badRequest.StatusCode);
    }

    private static async Task<JsonObject> AskAsync(HttpClient http, string path, SpiffeId caller, string method, string requestPath)
    {
        var body = new JsonObject
        {
            ["input"] = new JsonObject
            {
                ["version"] = 1,
                ["caller"] = new JsonObject { ["spiffe_id"] = caller.ToString(), ["trust_domain"] = "prod.example.com", ["authentication"] = "jwt_svid" },
                ["request"] = new JsonObject { ["method"] = method, ["path"] = requestPath, ["route"] = requestPath },
            },
        };
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await http.PostAsync(new Uri("v1/data/" + path, UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
        return (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }
}

// opa-stand-in: NOT Open Policy Agent. A few lines that answer OPA's Data API for the one rule of
// ../opa/policy.rego, so that run.sh can show payment-processor's OPA mode on a machine without an
// OPA binary. Use a real OPA for anything else:
//   opa run --server --addr=127.0.0.1:8181 --config-file=opa-config.yaml policy.rego   (in ../opa)
// Contract (as OPA documents it): POST /v1/data/<path> with {"input": …} → 200 {"decision_id": …,
// "result": …}, no "result" when the document is undefined; 400 when the body is not a JSON object.
// Each decision is printed, like OPA's console decision log.
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

const string Checkout = "spiffe://prod.example.com/ns/payments/sa/checkout-service";

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
IConfigurationSection settings = builder.Configuration.GetSection("ZeroTrust");
int port = int.Parse(settings["Port"] ?? "8181", System.Globalization.CultureInfo.InvariantCulture);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port)); // loopback only, like an OPA sidecar

await using WebApplication app = builder.Build();
app.MapPost("/v1/data/{**path}", async (string path, HttpRequest request) =>
{
    JsonNode? body;
    try
    {
        body = await JsonNode.ParseAsync(request.Body);
    }
    catch (JsonException)
    {
        return Results.BadRequest();
    }

    if (body is not JsonObject document)
    {
        return Results.BadRequest();
    }

    string decisionId = Guid.NewGuid().ToString();
    var answer = new JsonObject { ["decision_id"] = decisionId };
    if (path == "http/authz/allow")
    {
        // package http.authz: allow if caller is checkout-service, method POST, path /v1/payments.
        JsonNode? input = document["input"];
        string? caller = input?["caller"]?["spiffe_id"]?.GetValueKind() == JsonValueKind.String ? (string?)input["caller"]!["spiffe_id"] : null;
        string? method = input?["request"]?["method"]?.GetValueKind() == JsonValueKind.String ? (string?)input["request"]!["method"] : null;
        string? requestPath = input?["request"]?["path"]?.GetValueKind() == JsonValueKind.String ? (string?)input["request"]!["path"] : null;
        bool allow = caller == Checkout && method == "POST" && requestPath == "/v1/payments";
        answer["result"] = allow;
        Console.WriteLine($"decision {decisionId}: data.http.authz.allow = {(allow ? "true" : "false")} for {caller} {method} {requestPath}");
    }
    else
    {
        Console.WriteLine($"decision {decisionId}: data.{path.Replace('/', '.')} is undefined");
    }

    return Results.Text(answer.ToJsonString(), "application/json");
});

await app.StartAsync();
string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
Console.WriteLine($"opa-stand-in (not OPA) listening on {address}");
await app.WaitForShutdownAsync();

using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Spiffe.ZeroTrust.Tests;

/// <summary>
/// A stand-in for OPA on a real Kestrel on 127.0.0.1, implementing the Data API contract as OPA
/// documents it: <c>POST /v1/data/{path}</c> with a JSON object whose <c>input</c> member is the input
/// document → <c>200 {"decision_id": …, "result": …}</c>, without <c>result</c> when the document is
/// undefined; <c>400</c> when the body is not a JSON object. It evaluates samples/ZeroTrust/opa/policy.rego
/// written in C# (<c>data.http.authz.allow</c>) and records every decision it made.
/// </summary>
public sealed class OpaDataApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<Decision> _decisions = [];

    private OpaDataApiServer(WebApplication app) => _app = app;

    /// <summary>One answered query: OPA's decision ID, the input document, the result (null: undefined).</summary>
    public sealed record Decision(string DecisionId, string Path, JsonNode? Input, bool? Result);

    public Uri Address { get; private set; } = null!;

    public IReadOnlyList<Decision> Decisions
    {
        get
        {
            lock (_decisions)
            {
                return [.. _decisions];
            }
        }
    }

    public static async Task<OpaDataApiServer> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        var server = new OpaDataApiServer(app);
        app.MapPost("/v1/data/{**path}", (HttpContext context, string path) => server.AnswerAsync(context, path));
        await app.StartAsync();
        server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/");
        return server;
    }

    /// <summary>A loopback address where nothing listens (a port bound and released): a PDP that is down.</summary>
    public static Uri RefusingAddress()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>package http.authz — allow if the caller is checkout-service, the method POST and the path /v1/payments.</summary>
    public static bool Allow(JsonNode? input) =>
        Text(input?["caller"]?["spiffe_id"]) == ZeroTrustScenario.Checkout.ToString()
        && Text(input?["request"]?["method"]) == "POST"
        && Text(input?["request"]?["path"]) == "/v1/payments";

    private static string? Text(JsonNode? node) => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;

    private async Task AnswerAsync(HttpContext context, string path)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (body is not JsonObject document || context.Request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) != true)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        JsonNode? input = document["input"];
        bool? result = path == "http/authz/allow" ? Allow(input) : null; // any other document is undefined
        var decision = new Decision(Guid.NewGuid().ToString(), path, input?.DeepClone(), result);
        lock (_decisions)
        {
            _decisions.Add(decision);
        }

        var answer = new JsonObject { ["decision_id"] = decision.DecisionId };
        if (result is { } allow)
        {
            answer["result"] = allow;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer.ToJsonString(), context.RequestAborted);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

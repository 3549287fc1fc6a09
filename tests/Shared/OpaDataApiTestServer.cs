using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// The namespace follows the folder (tests/Shared, as BenchmarkProgram's does). CA1716 warns that
// Shared is a Visual Basic keyword; it fires only here because this type must be public (the test
// projects expose it from public fixtures and theory parameters), and test code has no VB callers.
#pragma warning disable CA1716
namespace Spiffe.Tests.Shared;
#pragma warning restore CA1716

/// <summary>
/// A stand-in for OPA on a real Kestrel on 127.0.0.1 implementing the Data API contract as OPA
/// documents it: <c>POST /v1/data/{path}</c> with a JSON object body whose <c>input</c> member is the
/// input document; the answer is <c>200</c> with <c>{"decision_id": …, "result": …}</c>, the
/// <c>result</c> member omitted when the document is undefined; <c>400</c> for a body that is not a
/// JSON object or not sent as <c>application/json</c>. The "policy" is a C# function from (path, input)
/// to the result's JSON text, or null for an undefined document. <see cref="Mode"/> makes it fail,
/// <see cref="Gate"/> holds its answers back. Shared by tests/Spiffe.AspNetCore.Opa.Tests and
/// tests/Spiffe.ZeroTrust.Tests.
/// </summary>
public sealed class OpaDataApiTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Decision> _decisions = [];
    private int _requests;

    private OpaDataApiTestServer(WebApplication app, Func<string, JsonElement, string?> policy)
    {
        _app = app;
        Policy = policy;
    }

    /// <summary>How the server misbehaves, if at all.</summary>
    public enum PdpMode
    {
        Normal,
        Error500,
        Malformed,
        Hang,
    }

    /// <summary>One answered query: OPA's decision ID, the document's path, the input document, the result's JSON text (null: undefined).</summary>
    public sealed record Decision(string DecisionId, string Path, JsonElement Input, string? Result);

    public Uri Address { get; private set; } = null!;

    public PdpMode Mode { get; set; }

    /// <summary>(path under /v1/data/, input) → the result's JSON text, or null for an undefined document.</summary>
    public Func<string, JsonElement, string?> Policy { get; set; }

    /// <summary>When set, every request waits for it before answering.</summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>Every request that reached the server, answered or not.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Every query answered with a decision (in <see cref="PdpMode.Normal"/>), in order.</summary>
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

    /// <summary>Starts the server; without a <paramref name="policy"/> every document is undefined.</summary>
    public static async Task<OpaDataApiTestServer> StartAsync(Func<string, JsonElement, string?>? policy = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        var server = new OpaDataApiTestServer(app, policy ?? (static (_, _) => null));
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

    private async Task AnswerAsync(HttpContext context, string path)
    {
        Interlocked.Increment(ref _requests);
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(aborted.Token);
        }

        JsonElement input;
        try
        {
            using JsonDocument body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: aborted.Token);
            if (body.RootElement.ValueKind != JsonValueKind.Object || context.Request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) != true)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            // A body without input is a query with an undefined input document (default: Undefined).
            input = body.RootElement.TryGetProperty("input", out JsonElement i) ? i.Clone() : default;
        }
        catch (JsonException)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        switch (Mode)
        {
            case PdpMode.Error500:
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsync("{\"code\":\"internal_error\",\"message\":\"boom\"}", aborted.Token);
                return;
            case PdpMode.Malformed:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"result\": tru", aborted.Token);
                return;
            case PdpMode.Hang:
                await Task.Delay(Timeout.Infinite, aborted.Token);
                return;
        }

        var decision = new Decision(Guid.NewGuid().ToString(), path, input, Policy(path, input));
        lock (_decisions)
        {
            _decisions.Add(decision);
        }

        var json = new StringBuilder("{\"decision_id\":\"").Append(decision.DecisionId).Append('"');
        if (decision.Result is not null)
        {
            json.Append(",\"result\":").Append(decision.Result);
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json.Append('}').ToString(), aborted.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}

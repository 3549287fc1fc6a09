using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Opa.Tests;

/// <summary>How the test PDP misbehaves, if at all.</summary>
public enum PdpMode
{
    Normal,
    Error500,
    Malformed,
    Hang,
}

/// <summary>
/// A stand-in for OPA on a real Kestrel on 127.0.0.1 implementing the Data API contract as OPA
/// documents it: <c>POST /v1/data/{path}</c> with a JSON object body whose <c>input</c> member is the
/// input document; the answer is <c>200</c> with <c>{"decision_id": …, "result": …}</c>, the
/// <c>result</c> member omitted when the document is undefined; <c>400</c> for a body that is not a
/// JSON object. The "policy" is a C# function from (path, input) to the result's JSON text, or null
/// for an undefined document.
/// </summary>
internal sealed class OpaTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<JsonElement> _inputs = [];
    private int _requests;

    private OpaTestServer(WebApplication app)
    {
        _app = app;
    }

    public Uri Address { get; private set; } = null!;

    public PdpMode Mode { get; set; }

    public Func<string, JsonElement, string?> Policy { get; set; } = static (_, _) => null;

    /// <summary>When set, every request waits for it before answering.</summary>
    public TaskCompletionSource? Gate { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    public TaskCompletionSource FirstRequest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<JsonElement> Inputs
    {
        get
        {
            lock (_inputs)
            {
                return [.. _inputs];
            }
        }
    }

    public static async Task<OpaTestServer> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        var server = new OpaTestServer(app);
        app.MapPost("/v1/data/{**path}", (HttpContext context, string path) => server.AnswerAsync(context, path));
        await app.StartAsync();
        server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/");
        return server;
    }

    /// <summary>A loopback address where nothing listens (a port bound and released).</summary>
    public static Uri RefusingAddress()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/");
    }

    private async Task AnswerAsync(HttpContext context, string path)
    {
        Interlocked.Increment(ref _requests);
        FirstRequest.TrySetResult();
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(aborted.Token);
        }

        JsonElement input;
        try
        {
            using JsonDocument body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: aborted.Token);
            if (body.RootElement.ValueKind != JsonValueKind.Object || !context.Request.ContentType!.StartsWith("application/json", StringComparison.Ordinal))
            {
                context.Response.StatusCode = 400;
                return;
            }

            input = body.RootElement.TryGetProperty("input", out JsonElement i) ? i.Clone() : default;
        }
        catch (JsonException)
        {
            context.Response.StatusCode = 400;
            return;
        }

        lock (_inputs)
        {
            _inputs.Add(input);
        }

        switch (Mode)
        {
            case PdpMode.Error500:
                context.Response.StatusCode = 500;
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

        string? result = Policy(path, input);
        var json = new StringBuilder("{\"decision_id\":\"").Append(Guid.NewGuid()).Append('"');
        if (result is not null)
        {
            json.Append(",\"result\":").Append(result);
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

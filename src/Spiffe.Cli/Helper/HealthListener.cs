using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Spiffe.Cli.Helper;

/// <summary>
/// The health_checks HTTP endpoints on Kestrel: readiness is 200 once every output has been written, liveness is 200
/// unless the last write failed; both are 503 otherwise. Any other path is 404.
/// </summary>
internal sealed class HealthListener : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HealthListener(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<HealthListener> StartAsync(HelperRunner runner, HelperHealthChecks settings, IPAddress bindAddress, int port, CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(o => o.Listen(bindAddress, port));
        WebApplication app = builder.Build();
        app.Run(context =>
        {
            bool? healthy = context.Request.Path.Value switch
            {
                string p when p == settings.LivenessPath => runner.IsLive,
                string p when p == settings.ReadinessPath => runner.IsReady && runner.IsLive,
                _ => null,
            };
            if (healthy is null)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            context.Response.StatusCode = healthy.Value ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync(healthy.Value ? "ok\n" : "unavailable\n", context.RequestAborted);
        });
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new CliException($"cannot listen for health checks on port {port}: {e.Message.TrimEnd('.')}; choose another health_checks.bind_port", e);
        }

        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HealthListener(app, new Uri(address.Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

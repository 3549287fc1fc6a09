using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Spiffe.WorkloadApi;

namespace Spiffe.Conformance.Harness;

/// <summary>
/// The SPIFFE conformance harness (contract version 1): stdout carries only the protocol lines,
/// everything else goes to stderr. Exit codes: 0 after SIGTERM/SIGINT, 1 when the Workload API
/// failed in a way the SDK does not retry, 2 when SPIFFE_ENDPOINT_SOCKET is unusable.
/// </summary>
internal static class Program
{
    public static async Task<int> Main()
    {
        using var stop = new CancellationTokenSource();

        // Registered first so that a SIGTERM during start-up (before any listener) also ends the run promptly.
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, stop));
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, stop));

        using ILoggerFactory loggers = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(Enum.TryParse(Environment.GetEnvironmentVariable("SPIFFE_HARNESS_LOG_LEVEL"), ignoreCase: true, out LogLevel level) ? level : LogLevel.Information)
            .AddProvider(new StderrLoggerProvider()));
        ILogger log = loggers.CreateLogger("Spiffe.Conformance.Harness");

        WorkloadApiClient client;
        try
        {
            // No address here: the SDK reads SPIFFE_ENDPOINT_SOCKET itself.
            client = WorkloadApiClient.Create(new WorkloadApiClientOptions { LoggerFactory = loggers });
        }
        catch (Exception e) when (e is WorkloadApiException or ArgumentException or FormatException)
        {
            await Console.Error.WriteLineAsync($"spiffe-harness: cannot use the Workload API address: {e.Message}").ConfigureAwait(false);
            return 2;
        }

        try
        {
            var harness = new Harness(client, loggers, log);
            return await harness.RunAsync(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await BoundedAsync(client.DisposeAsync().AsTask(), log, "the Workload API client").ConfigureAwait(false);
        }
    }

    /// <summary>Waits for a shutdown step, but never longer than the runner's grace period allows.</summary>
    internal static async Task BoundedAsync(Task step, ILogger log, string what)
    {
        try
        {
            await step.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            HarnessLog.ShutdownStepTimedOut(log, what);
        }
        catch (Exception e)
        {
            HarnessLog.ShutdownStepFailed(log, what, e);
        }
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stop)
    {
        context.Cancel = true; // we exit ourselves, after closing the listeners and the Workload API streams
        stop.Cancel();
    }
}

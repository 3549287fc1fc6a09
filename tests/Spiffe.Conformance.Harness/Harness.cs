using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Spiffe.Bundles;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

namespace Spiffe.Conformance.Harness;

/// <summary>
/// One run of the harness: binds both listeners, waits for the SDK's first X509-SVID, prints the
/// protocol lines, then serves until stopped. Every decision about trust is the SDK's: this class
/// only wires its public API to the two ports.
/// </summary>
internal sealed class Harness(WorkloadApiClient client, ILoggerFactory loggers, ILogger log)
{
    private static readonly JwtBundleSet s_noJwtBundles = new([]);
    private volatile SpiffeTlsClient? _dialClient;
    private volatile Task<JwtSource>? _jwt;

    public WorkloadApiClient Client => client;

    /// <summary>The TLS client of <c>/v1/x509/dial</c> (presents the current SVID, authenticates any SVID server); null before the first SVID.</summary>
    public SpiffeTlsClient? DialClient => _dialClient;

    public async Task<int> RunAsync(CancellationToken stop)
    {
        // Sources wait for the agent as long as it takes (the runner, not the harness, decides when to give up);
        // the SDK retries and backs off on its own.
        Task<X509Source> x509 = X509Source.CreateAsync(new X509SourceOptions { Client = client, StartTimeout = Timeout.InfiniteTimeSpan }, stop);

        await using var x509Endpoint = new X509Endpoint(loggers.CreateLogger<X509Endpoint>());
        await using var control = new ControlEndpoint(this, loggers);
        try
        {
            await control.StartAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await DisposeSourcesAsync(x509).ConfigureAwait(false);
            return 0;
        }

        HarnessLog.Listening(log, x509Endpoint.Port, control.Port);

        X509Source source;
        try
        {
            source = await x509.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WorkloadApiException && stop.IsCancellationRequested)
        {
            // The SDK reports a cancelled start as a WorkloadApiException ("start was cancelled").
            HarnessLog.Stopping(log);
            await DisposeSourcesAsync(x509).ConfigureAwait(false);
            return 0;
        }
        catch (WorkloadApiException e)
        {
            // Not retryable (InvalidArgument, Unimplemented...): no SVID will ever come, so no READY.
            HarnessLog.SourceFailed(log, e);
            await DisposeSourcesAsync(x509).ConfigureAwait(false);
            return 1;
        }

        // Resumption off on both sides: a resumed TLS 1.3 session skips the certificates, so a rotated SVID or a
        // withdrawn identity would not show on the next handshake (DOTNET-NOTES §2.4, dotnet/runtime#123238).
        var tls = new SpiffeTlsOptions { AllowTlsResume = false };
        _dialClient = SpiffeTlsClient.MutualTls(source, source, SpiffeIdAuthorizer.Any(), tls);
        x509Endpoint.Start(SpiffeTlsServer.MutualTls(source, source, SpiffeIdAuthorizer.Any(), tls));

        // Started only now so that it does not compete with the X.509 stream for the CPU during start-up;
        // /v1/jwt/validate waits for it (bounded) if a runner is quicker.
        _jwt = JwtSource.CreateAsync(new JwtSourceOptions { Client = client, StartTimeout = Timeout.InfiniteTimeSpan }, stop);

        // The ports are printed only now so that the four lines leave together; READY is last, and the
        // listeners have been accepting since they were bound.
        Console.Out.Write($"SPIFFE_HARNESS_VERSION=1\nSPIFFE_X509_PORT={x509Endpoint.Port}\nSPIFFE_CONTROL_PORT={control.Port}\nREADY\n");
        Console.Out.Flush();
        using (var self = Process.GetCurrentProcess())
        {
            HarnessLog.Ready(log, (DateTime.Now - self.StartTime).TotalMilliseconds, self.TotalProcessorTime.TotalMilliseconds, source.GetX509Svid().Id.ToString());
        }

        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            HarnessLog.Stopping(log);
        }

        await x509Endpoint.StopAsync().ConfigureAwait(false);
        await control.StopAsync().ConfigureAwait(false);
        await DisposeSourcesAsync(x509).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// The JWT bundles for local validation: the SDK's <see cref="JwtSource"/>, waited for a few seconds
    /// right after start-up; without it there is no bundle, and the SDK's validator rejects every token.
    /// </summary>
    public async Task<IJwtBundleSource> GetJwtBundlesAsync(CancellationToken cancellationToken)
    {
        if (_jwt is not { } jwt)
        {
            return s_noJwtBundles; // no X509-SVID yet, so not READY either
        }

        try
        {
            return await jwt.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or WorkloadApiException)
        {
            return s_noJwtBundles;
        }
    }

    private async Task DisposeSourcesAsync(Task<X509Source> x509)
    {
        if (x509.IsCompletedSuccessfully)
        {
            await Program.BoundedAsync(x509.Result.DisposeAsync().AsTask(), log, "the X509 source").ConfigureAwait(false);
        }

        if (_jwt is { IsCompletedSuccessfully: true } jwt)
        {
            await Program.BoundedAsync(jwt.Result.DisposeAsync().AsTask(), log, "the JWT source").ConfigureAwait(false);
        }

        // Sources still starting were cancelled by the stop token and dispose themselves; observe their faults.
        _ = x509.ContinueWith(static t => t.Exception, TaskScheduler.Default);
        _ = _jwt?.ContinueWith(static t => t.Exception, TaskScheduler.Default);
    }
}

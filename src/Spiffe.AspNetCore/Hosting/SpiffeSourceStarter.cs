using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.Files;
using Spiffe.Jwt;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Hosting;

/// <summary>
/// Starts the enabled sources and waits for their first state before the server starts (hosted
/// services registered by the app start before Kestrel, dotnet/aspnetcore#36122), bounded by
/// <see cref="SpiffeOptions.StartTimeout"/>. Failure fails the host start with the root cause, unless
/// <see cref="SpiffeOptions.AllowDegradedStart"/>. The DI container owns and disposes the sources.
/// </summary>
/// <remarks>
/// With <c>HostOptions.ServicesStartConcurrently</c> Kestrel may accept connections before the first
/// SVID: the handshakes of those connections fail at once (the source throws), they never wait.
/// </remarks>
internal sealed class SpiffeSourceStarter(IServiceProvider services, IOptions<SpiffeOptions> options, ILogger<SpiffeSourceStarter> logger, TimeProvider timeProvider) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        SpiffeOptions o = options.Value;
        long started = timeProvider.GetTimestamp();
        List<Task> waits = [];
        List<string> names = [];
        IX509SvidSource? x509 = null;
        if (o.Files.Enabled)
        {
            FileX509Source files = services.GetRequiredService<FileX509Source>();
            x509 = files;
            waits.Add(files.WaitUntilReadyAsync(o.StartTimeout, cancellationToken));
            names.Add($"X.509 from files in {files.Directory}");
        }
        else if (o.Sources.X509)
        {
            X509Source source = services.GetRequiredService<X509Source>();
            x509 = source;
            waits.Add(source.WaitUntilReadyAsync(o.StartTimeout, cancellationToken));
            names.Add("X.509");
        }

        if (o.Sources.Jwt)
        {
            waits.Add(StartJwtAsync(services.GetRequiredService<JwtSource>(), o, cancellationToken));
            names.Add("JWT");
        }

        if (o.Sources.Bundles)
        {
            waits.Add(services.GetRequiredService<BundleSource>().WaitUntilReadyAsync(o.StartTimeout, cancellationToken));
            names.Add("bundles");
        }

        try
        {
            await Task.WhenAll(waits).ConfigureAwait(false);
        }
        catch (SpiffeException e) // WorkloadApiException, or the file source's "no valid files"
        {
            if (o.AllowDegradedStart && !cancellationToken.IsCancellationRequested)
            {
                SpiffeHostingLog.StartedDegraded(logger, e.Message);
                return;
            }

            SpiffeHostingLog.StartFailed(logger, e.Message);
            throw;
        }

        X509Svid? svid = x509?.GetX509Svid();
        SpiffeHostingLog.Ready(logger, (long)timeProvider.GetElapsedTime(started).TotalMilliseconds, string.Join(", ", names), svid?.Id.ToString() ?? "(none: X.509 source disabled)", svid?.ExpiresAt);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task StartJwtAsync(JwtSource jwt, SpiffeOptions o, CancellationToken cancellationToken)
    {
        long started = timeProvider.GetTimestamp();
        await jwt.WaitUntilReadyAsync(o.StartTimeout, cancellationToken).ConfigureAwait(false);
        if (o.Jwt.PrefetchAudiences.Count == 0)
        {
            return;
        }

        // What is left of the start timeout bounds the prefetch too.
        TimeSpan left = o.StartTimeout - timeProvider.GetElapsedTime(started);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        foreach (string audience in o.Jwt.PrefetchAudiences.Distinct(StringComparer.Ordinal))
        {
            JwtSvid svid;
            try
            {
                svid = await jwt.GetJwtSvidAsync(new JwtSvidRequest([audience]), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new WorkloadApiException(
                    WorkloadApiErrorKind.Unavailable,
                    $"Could not prefetch a JWT-SVID for audience '{audience}' (Spiffe:Jwt:PrefetchAudiences) from the Workload API at {jwt.Address} within Spiffe:StartTimeout ({o.StartTimeout}).");
            }

            SpiffeHostingLog.JwtPrefetched(logger, audience, svid.ExpiresAt);
        }
    }
}

using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore.Tests;

/// <summary>With <c>AddSpiffe()</c> the sources measure through the app's <see cref="IMeterFactory"/> and log through its logger factory.</summary>
public sealed class SpiffeTelemetryTests
{
    private const string Meter = "Spiffe.WorkloadApi";

    [Fact]
    public async Task AddSpiffe_MeterFactoryAndLogs_RecordUpdatesRotationsAndTimeToExpiry()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        WebApplication app = host.Build(host.Configuration(), listen: null);
        IMeterFactory meters = app.Services.GetRequiredService<IMeterFactory>();
        using var updates = new MetricCollector<long>(meters, Meter, "spiffe.workload_api.updates");
        using var rotations = new MetricCollector<long>(meters, Meter, "spiffe.x509_svid.rotations");
        using var expiry = new MetricCollector<double>(meters, Meter, "spiffe.x509_svid.time_to_expiry");

        await host.StartAsync(SpiffeTestHost.Timeout());
        X509Source source = app.Services.GetRequiredService<X509Source>();
        Assert.Contains(updates.GetMeasurementSnapshot(), m => Equals(m.Tags["kind"], "x509_context"));
        Assert.Empty(rotations.GetMeasurementSnapshot());

        Task<X509Context> rotated = source.WaitForUpdateAsync(SpiffeTestHost.Timeout());
        host.Serve();
        await rotated;
        Assert.Contains(rotations.GetMeasurementSnapshot(), m => Equals(m.Tags["spiffe.id"], SpiffeTestHost.Backend.ToString()) && m.Value == 1);

        expiry.RecordObservableInstruments();
        Assert.Contains(expiry.GetMeasurementSnapshot(), m => Equals(m.Tags["spiffe.id"], SpiffeTestHost.Backend.ToString()) && m.Value is > 3000 and <= 3600);

        // The sources log through the app's logger factory: the X.509 update (Workload API event 1).
        IReadOnlyList<FakeLogRecord> logs = app.Services.GetFakeLogCollector().GetSnapshot();
        Assert.Contains(logs, r => r.Category == typeof(X509Source).FullName && r.Id.Id == 1 && r.Level == LogLevel.Information && r.Message.Contains(SpiffeTestHost.Backend.ToString()));
        Assert.DoesNotContain(logs, r => r.Message.Contains("PRIVATE KEY", StringComparison.Ordinal));
    }
}

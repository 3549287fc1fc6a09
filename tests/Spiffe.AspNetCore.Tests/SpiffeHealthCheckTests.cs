using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Testing;
using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// <c>AddHealthChecks().AddSpiffe()</c> against the real Workload API test server: Healthy with a current
/// SVID, Degraded with the agent unreachable or expiry near, Unhealthy with no SVID or an expired one;
/// data without key material.
/// </summary>
public sealed class SpiffeHealthCheckTests
{
    [Fact]
    public async Task CheckHealth_CurrentSvid_HealthyWithIdExpiryAndLastUpdate()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        WebApplication app = Build(host);
        await host.StartAsync(SpiffeTestHost.Timeout());

        HealthReportEntry entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(SpiffeTestHost.Backend.ToString(), entry.Data["spiffe_id"]);
        Assert.True(DateTimeOffset.Parse((string)entry.Data["expires_at"], System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow);
        Assert.True(entry.Data.ContainsKey("last_update"));
        Assert.False(entry.Data.ContainsKey("last_error"));
        AssertNoKeyMaterial(entry);
    }

    [Fact]
    public async Task CheckHealth_AgentUnreachableSvidValid_Degraded()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        WebApplication app = Build(host);
        await host.StartAsync(SpiffeTestHost.Timeout());
        using var restarts = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Spiffe.WorkloadApi", "spiffe.workload_api.stream.restarts");

        await host.Agent.StopAsync(SpiffeTestHost.Timeout());
        await restarts.WaitForMeasurementsAsync(1, SpiffeTestHost.Timeout());
        HealthReportEntry entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("the Workload API is failing", entry.Description);
        Assert.Contains(host.Agent.Address, (string)entry.Data["last_error"]);
        Assert.Equal(SpiffeTestHost.Backend.ToString(), entry.Data["spiffe_id"]);
        AssertNoKeyMaterial(entry);

        // Back: the stream reconnects, the agent resends the SVID, the check is Healthy again.
        X509Source source = app.Services.GetRequiredService<X509Source>();
        Task<X509Context> update = source.WaitForUpdateAsync(SpiffeTestHost.Timeout());
        await host.Agent.RestartAsync(SpiffeTestHost.Timeout());
        await update;
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);
    }

    [Fact]
    public async Task CheckHealth_SvidExpiresWithinMargin_Degraded()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        WebApplication app = Build(host, expiryMargin: TimeSpan.FromHours(2));
        await host.StartAsync(SpiffeTestHost.Timeout());

        HealthReportEntry entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("expires in", entry.Description);
    }

    [Fact]
    public async Task CheckHealth_SvidExpired_Unhealthy()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync(serve: false);
        host.Serve(new TestX509SvidOptions { NotAfter = time.GetUtcNow().AddMinutes(10) });
        WebApplication app = Build(host, configure: builder => builder.Services.AddSingleton<TimeProvider>(time), expiryMargin: TimeSpan.FromMinutes(1));
        await host.StartAsync(SpiffeTestHost.Timeout());
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(app)).Status);

        time.Advance(TimeSpan.FromMinutes(11));
        HealthReportEntry entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("expired", entry.Description);
    }

    [Fact]
    public async Task CheckHealth_NoSvidYet_UnhealthyOrConfiguredFailureStatus()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync(serve: false);
        WebApplication app = Build(host, degraded: true, failureStatus: HealthStatus.Degraded);
        await host.StartAsync(SpiffeTestHost.Timeout());

        HealthReportEntry entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("No X509-SVID", entry.Description);
        Assert.False(entry.Data.ContainsKey("spiffe_id"));

        await using SpiffeTestHost other = await SpiffeTestHost.CreateAsync(serve: false);
        WebApplication unhealthy = Build(other, degraded: true);
        await other.StartAsync(SpiffeTestHost.Timeout());
        HealthReportEntry second = await CheckAsync(unhealthy);
        Assert.Equal(HealthStatus.Unhealthy, second.Status);
        Assert.Contains("denied this workload an identity", second.Description);
    }

    private static WebApplication Build(SpiffeTestHost host, Action<WebApplicationBuilder>? configure = null, TimeSpan? expiryMargin = null, bool degraded = false, HealthStatus? failureStatus = null) =>
        host.Build(
            host.Configuration(("Spiffe:AllowDegradedStart", degraded ? "true" : "false"), ("Spiffe:StartTimeout", degraded ? "00:00:00.300" : "00:00:20")),
            listen: null,
            builder =>
            {
                builder.Services.AddHealthChecks().AddSpiffe(failureStatus: failureStatus, expiryMargin: expiryMargin);
                configure?.Invoke(builder);
            });

    private static async Task<HealthReportEntry> CheckAsync(WebApplication app)
    {
        HealthReport report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(SpiffeTestHost.Timeout());
        return report.Entries["spiffe"];
    }

    private static void AssertNoKeyMaterial(HealthReportEntry entry)
    {
        Assert.Subset(new HashSet<string>(["address", "spiffe_id", "expires_at", "last_update", "last_error"]), entry.Data.Keys.ToHashSet());
        foreach (object value in entry.Data.Values)
        {
            Assert.IsType<string>(value);
            Assert.DoesNotContain("PRIVATE", (string)value, StringComparison.OrdinalIgnoreCase);
        }
    }
}

using System.Diagnostics.Metrics;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>The SDK's Workload API instruments (meter <c>Spiffe.WorkloadApi</c>); names are stable.</summary>
internal static class WorkloadApiMetrics
{
    public const string MeterName = "Spiffe.WorkloadApi";

    private static readonly Meter s_meter = new(MeterName, typeof(WorkloadApiMetrics).Assembly.GetName().Version?.ToString());

    /// <summary>Valid updates applied, tagged <c>kind</c> = x509_context | x509_bundles | jwt_bundles.</summary>
    public static readonly Counter<long> Updates =
        s_meter.CreateCounter<long>("spiffe.workload_api.updates", unit: "{update}", description: "Valid Workload API updates applied by sources.");

    /// <summary>Stream restarts, tagged <c>grpc.status_code</c> and <c>kind</c>.</summary>
    public static readonly Counter<long> StreamRestarts =
        s_meter.CreateCounter<long>("spiffe.workload_api.stream.restarts", unit: "{restart}", description: "Workload API streams reopened after an error or an end.");

    /// <summary>Malformed responses discarded.</summary>
    public static readonly Counter<long> Discarded =
        s_meter.CreateCounter<long>("spiffe.workload_api.discarded", unit: "{response}", description: "Malformed Workload API responses discarded.");

    private static readonly List<WeakReference<X509Source>> s_sources = [];

    static WorkloadApiMetrics()
    {
        s_meter.CreateObservableGauge(
            "spiffe.x509_svid.time_to_expiry",
            ObserveExpiry,
            unit: "s",
            description: "Seconds until the default X509-SVID of each live X509Source expires.");
    }

    public static void Track(X509Source source)
    {
        lock (s_sources)
        {
            s_sources.RemoveAll(static r => !r.TryGetTarget(out _));
            s_sources.Add(new WeakReference<X509Source>(source));
        }
    }

    private static IEnumerable<Measurement<double>> ObserveExpiry()
    {
        List<Measurement<double>> result = [];
        lock (s_sources)
        {
            foreach (WeakReference<X509Source> reference in s_sources)
            {
                if (reference.TryGetTarget(out X509Source? source) && source.TryGetExpiry(out string? id, out double seconds))
                {
                    result.Add(new Measurement<double>(seconds, new KeyValuePair<string, object?>("spiffe.id", id)));
                }
            }
        }

        return result;
    }
}

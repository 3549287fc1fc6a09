using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// The SDK's Workload API instruments (meter <c>Spiffe.WorkloadApi</c>); names are stable and listed
/// in docs/telemetry.md. One set per <see cref="IMeterFactory"/> (the app's, when it uses DI, so its
/// meters are scoped to its container), or <see cref="Shared"/>, on a static meter, otherwise.
/// </summary>
internal sealed class WorkloadApiMetrics
{
    public const string MeterName = "Spiffe.WorkloadApi";

    private static readonly string? s_version = typeof(WorkloadApiMetrics).Assembly.GetName().Version?.ToString();
    private static readonly ConditionalWeakTable<IMeterFactory, WorkloadApiMetrics> s_byFactory = [];
    private readonly List<WeakReference<X509Source>> _sources = [];

    private WorkloadApiMetrics(Meter meter)
    {
        Updates = meter.CreateCounter<long>("spiffe.workload_api.updates", unit: "{update}", description: "Valid Workload API updates applied by sources.");
        StreamRestarts = meter.CreateCounter<long>("spiffe.workload_api.stream.restarts", unit: "{restart}", description: "Workload API streams reopened after an error or an end.");
        Discarded = meter.CreateCounter<long>("spiffe.workload_api.discarded", unit: "{response}", description: "Malformed Workload API responses discarded.");
        Rotations = meter.CreateCounter<long>("spiffe.x509_svid.rotations", unit: "{rotation}", description: "Times an X509Source started presenting a different X509-SVID.");
        meter.CreateObservableGauge(
            "spiffe.x509_svid.time_to_expiry",
            ObserveExpiry,
            unit: "s",
            description: "Seconds until the X509-SVID each live X509Source presents expires.");
    }

    /// <summary>The instruments on the process-wide static meter, for sources created without an <see cref="IMeterFactory"/>.</summary>
    public static WorkloadApiMetrics Shared { get; } = new(new Meter(MeterName, s_version));

    /// <summary>Valid updates applied, tagged <c>kind</c> = x509_context | x509_bundles | jwt_bundles.</summary>
    public Counter<long> Updates { get; }

    /// <summary>Stream restarts, tagged <c>grpc.status_code</c> and <c>kind</c>.</summary>
    public Counter<long> StreamRestarts { get; }

    /// <summary>Malformed responses discarded, tagged <c>kind</c>.</summary>
    public Counter<long> Discarded { get; }

    /// <summary>SVID rotations of X509Sources: the presented SVID changed (tagged <c>spiffe.id</c>, the new SVID's ID).</summary>
    public Counter<long> Rotations { get; }

    /// <summary>The instruments for <paramref name="meterFactory"/>, created once per factory; <see cref="Shared"/> when null.</summary>
    public static WorkloadApiMetrics For(IMeterFactory? meterFactory) =>
        meterFactory is null
            ? Shared
            : s_byFactory.GetValue(meterFactory, static f => new WorkloadApiMetrics(f.Create(new MeterOptions(MeterName) { Version = s_version })));

    public void Track(X509Source source)
    {
        lock (_sources)
        {
            _sources.RemoveAll(static r => !r.TryGetTarget(out _));
            _sources.Add(new WeakReference<X509Source>(source));
        }
    }

    private IEnumerable<Measurement<double>> ObserveExpiry()
    {
        List<Measurement<double>> result = [];
        lock (_sources)
        {
            foreach (WeakReference<X509Source> reference in _sources)
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

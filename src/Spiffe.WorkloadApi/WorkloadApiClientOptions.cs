using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Spiffe.WorkloadApi;

/// <summary>Options of a <see cref="WorkloadApiClient"/>. Validated once, when the client is created.</summary>
public sealed class WorkloadApiClientOptions
{
    /// <summary>
    /// The Workload API address (<c>unix:///path</c> or <c>tcp://IP:port</c>). When null, the
    /// <c>SPIFFE_ENDPOINT_SOCKET</c> environment variable is used.
    /// </summary>
    public string? Address { get; set; }

    /// <summary>Extra gRPC metadata sent with every call. The <c>workload.spiffe.io: true</c> header is always added.</summary>
    public IList<KeyValuePair<string, string>> Metadata { get; } = [];

    /// <summary>How watches back off and retry.</summary>
    public WorkloadApiRetryOptions Retry { get; set; } = new();

    /// <summary>Where the client and the sources built on it log. Null: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Where the client and the sources built on it create their meter (<c>Spiffe.WorkloadApi</c>,
    /// instruments in docs/telemetry.md): the app's <see cref="IMeterFactory"/> when it uses DI
    /// (<c>AddSpiffe()</c> sets it). Null: a process-wide static meter of the same name.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>The clock used for backoff delays and SVID validity. Default: the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

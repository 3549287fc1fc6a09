using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore;

/// <summary>The Workload API endpoint of <see cref="SpiffeOptions"/> (<c>Spiffe:WorkloadApi</c>).</summary>
public sealed class SpiffeWorkloadApiOptions
{
    /// <summary>
    /// <c>unix:///absolute/path</c> or <c>tcp://IP:port</c> (<c>Spiffe:WorkloadApi:Address</c>). When null
    /// or empty, the <c>SPIFFE_ENDPOINT_SOCKET</c> environment variable is used.
    /// </summary>
    public string? Address { get; set; }

    /// <summary>
    /// How the streams back off after an error (<c>Spiffe:WorkloadApi:Retry</c>: <c>InitialBackoff</c>,
    /// <c>MaxBackoff</c>, <c>Multiplier</c>, <c>Jitter</c>).
    /// </summary>
    public WorkloadApiRetryOptions Retry { get; set; } = new();
}

namespace Spiffe.WorkloadApi;

/// <summary>
/// How a watch backs off after an error or an ended stream: exponential with jitter, reset after a
/// good message.
/// </summary>
/// <remarks>
/// Defaults: first retry after about 200 ms (a restarting local agent is usually back within a
/// second, so the first retries are quick), doubling up to 30 s (a workload that is not yet
/// registered keeps polling its agent twice a minute rather than hammering it), with ±20 % jitter
/// so that the many workloads of a node do not reconnect in lock step after an agent restart.
/// </remarks>
public sealed class WorkloadApiRetryOptions
{
    /// <summary>The delay before the first retry. Default 200 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The largest delay between two attempts. Default 30 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The factor the delay grows by after each failed attempt. Default 2.</summary>
    public double Multiplier { get; set; } = 2;

    /// <summary>The random spread applied to each delay, as a fraction (0.2 = ±20 %). Default 0.2.</summary>
    public double Jitter { get; set; } = 0.2;

    internal void Validate()
    {
        if (InitialBackoff <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialBackoff), InitialBackoff, "The initial backoff must be positive: a watch never retries in a tight loop.");
        }

        if (MaxBackoff < InitialBackoff)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBackoff), MaxBackoff, "The maximum backoff must be at least the initial backoff.");
        }

        if (Multiplier < 1 || double.IsNaN(Multiplier))
        {
            throw new ArgumentOutOfRangeException(nameof(Multiplier), Multiplier, "The multiplier must be at least 1.");
        }

        if (Jitter is < 0 or >= 1 || double.IsNaN(Jitter))
        {
            throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "The jitter must be in [0, 1).");
        }
    }

    internal WorkloadApiRetryOptions Clone() => (WorkloadApiRetryOptions)MemberwiseClone();
}

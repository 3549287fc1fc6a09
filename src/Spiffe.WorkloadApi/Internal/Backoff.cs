namespace Spiffe.WorkloadApi.Internal;

/// <summary>Exponential backoff with jitter; not thread-safe (one per watch loop).</summary>
internal sealed class Backoff(WorkloadApiRetryOptions options)
{
    private TimeSpan _next = options.InitialBackoff;

    /// <summary>The delay to wait now; the following one grows.</summary>
    public TimeSpan Next()
    {
        TimeSpan current = _next;
        _next = TimeSpan.FromTicks((long)Math.Min(options.MaxBackoff.Ticks, current.Ticks * options.Multiplier));

        // Jitter is for spreading reconnects, not security: a shared non-crypto generator is right.
#pragma warning disable CA5394
        double factor = 1 + (((Random.Shared.NextDouble() * 2) - 1) * options.Jitter);
#pragma warning restore CA5394
        return TimeSpan.FromTicks((long)(current.Ticks * factor));
    }

    /// <summary>Back to the initial delay, after a good message.</summary>
    public void Reset() => _next = options.InitialBackoff;
}

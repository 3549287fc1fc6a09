namespace Spiffe.Credentials;

/// <summary>
/// Holds one credential until its refresh time; concurrent callers share one exchange. Failures are not cached: the
/// next caller tries again.
/// </summary>
internal sealed class CredentialCache<T>(TimeProvider timeProvider) : IDisposable
    where T : class
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Entry? _current;

    /// <summary>When a credential issued at <paramref name="issuedAt"/> and expiring at <paramref name="expiresAt"/> is
    /// replaced: <paramref name="refreshBefore"/> ahead of its expiry, but never before half its lifetime.</summary>
    public static DateTimeOffset RefreshAt(DateTimeOffset issuedAt, DateTimeOffset expiresAt, TimeSpan refreshBefore)
    {
        TimeSpan lifetime = expiresAt - issuedAt;
        TimeSpan keep = lifetime - refreshBefore;
        return issuedAt + (keep > lifetime / 2 ? keep : lifetime / 2);
    }

    public async ValueTask<T> GetAsync(Func<CancellationToken, Task<(T Value, DateTimeOffset RefreshAt)>> exchange, CancellationToken cancellationToken)
    {
        if (Fresh(_current) is { } cached)
        {
            return cached;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh(_current) is { } again)
            {
                return again;
            }

            (T value, DateTimeOffset refreshAt) = await exchange(cancellationToken).ConfigureAwait(false);
            _current = new Entry(value, refreshAt);
            return value;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private T? Fresh(Entry? entry) => entry is not null && timeProvider.GetUtcNow() < entry.RefreshAt ? entry.Value : null;

    private sealed record Entry(T Value, DateTimeOffset RefreshAt);
}

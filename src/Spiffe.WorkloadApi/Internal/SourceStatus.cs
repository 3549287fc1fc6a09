namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// When a source's stream last delivered a valid update and the newest error since then, for
/// health checks (<c>LastUpdatedAt</c>, <c>LastError</c>). One immutable snapshot, replaced whole.
/// </summary>
internal sealed class SourceStatus
{
    private volatile Snapshot _snapshot = new(null, null);

    public DateTimeOffset? UpdatedAt => _snapshot.UpdatedAt;

    public WorkloadApiException? Error => _snapshot.Error;

    public void RecordUpdate(DateTimeOffset now) => _snapshot = new Snapshot(now, null);

    public void RecordError(WorkloadApiException error) => _snapshot = _snapshot with { Error = error };

    /// <summary>Records every error the stream reports before passing it on; a valid update clears it through <see cref="RecordUpdate"/>.</summary>
    public IWorkloadApiWatcher<T> Wrap<T>(IWorkloadApiWatcher<T> inner) => new Watcher<T>(this, inner);

    private sealed record Snapshot(DateTimeOffset? UpdatedAt, WorkloadApiException? Error);

    private sealed class Watcher<T>(SourceStatus status, IWorkloadApiWatcher<T> inner) : IWorkloadApiWatcher<T>
    {
        public void OnUpdate(T update) => inner.OnUpdate(update);

        public void OnError(WorkloadApiException exception)
        {
            status.RecordError(exception);
            inner.OnError(exception);
        }
    }
}

namespace Spiffe.WorkloadApi;

/// <summary>
/// Receives the updates and errors of a Workload API watch. Called from one loop, never
/// concurrently; implementations must return quickly and must not throw. (A watcher that throws
/// anyway does not end the watch: the fault is logged and the stream reopened after backoff.)
/// </summary>
/// <typeparam name="T">The update type (e.g. <see cref="X509Context"/>).</typeparam>
internal interface IWorkloadApiWatcher<in T>
{
    /// <summary>A new, fully validated state; it replaces the previous one whole.</summary>
    void OnUpdate(T update);

    /// <summary>
    /// An error: a discarded malformed message, a failed or ended stream (the watch retries when
    /// <see cref="WorkloadApiException.IsRetryable"/>), or the error that stops the watch.
    /// </summary>
    void OnError(WorkloadApiException exception);
}

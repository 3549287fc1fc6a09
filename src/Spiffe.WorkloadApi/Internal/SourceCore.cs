using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// The machinery shared by the sources: runs one watch, keeps the latest valid state as an
/// immutable snapshot that readers take without locking, withdraws it while the agent denies the
/// workload (SPIFFE_Workload_API.md §5.2.1: stop using SVIDs after PermissionDenied), signals
/// updates, and releases superseded states.
/// </summary>
/// <typeparam name="T">The state type.</typeparam>
internal sealed class SourceCore<T> : IWorkloadApiWatcher<T>, IAsyncDisposable
    where T : class
{
    private readonly string _kind;
    private readonly string _metricKind;
    private readonly Func<IWorkloadApiWatcher<T>, Action<WorkloadApiException>, CancellationToken, Task> _watch;
    private readonly Func<T, string?> _accept;
    private readonly Action<T> _release;
    private readonly Action<T> _onUpdate;
    private readonly ILogger _logger;
    private readonly WorkloadApiMetrics _metrics;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private TaskCompletionSource<T> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile Snapshot _snapshot = new(null, null);
    private T? _retired;
    private Task? _watching;
    private bool _disposed;

    public SourceCore(
        string kind,
        Func<IWorkloadApiWatcher<T>, Action<WorkloadApiException>, CancellationToken, Task> watch,
        Func<T, string?> accept,
        Action<T> release,
        Action<T> onUpdate,
        ILogger logger,
        WorkloadApiMetrics? metrics = null)
    {
        _kind = kind;

        // "X.509 context" → "x509_context": the stable tag value of the metrics.
        _metricKind = kind.Replace(".", string.Empty, StringComparison.Ordinal).Replace(' ', '_').ToLowerInvariant();
        _watch = watch;
        _accept = accept;
        _release = release;
        _onUpdate = onUpdate;
        _logger = logger;
        _metrics = metrics ?? WorkloadApiMetrics.Shared;
    }

    /// <summary>The newest error (kept to explain a slow or failed start).</summary>
    public WorkloadApiException? LastError { get; private set; }

    /// <summary>The current state, or null (none yet, or withdrawn).</summary>
    public T? Current => _snapshot.Value;

    /// <summary>Why there is no state, when the agent withdrew it.</summary>
    public WorkloadApiException? Withdrawal => _snapshot.Withdrawal;

    public void Start() => _watching = Task.Run(RunAsync);

    /// <summary>Waits for the first valid state; the failure names the root cause rather than only a timeout.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout, string address, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            timeoutSource.CancelAfter(timeout);
        }

        try
        {
            await _ready.Task.WaitAsync(timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!_ready.Task.IsCompleted)
        {
            string why = cancellationToken.IsCancellationRequested ? "start was cancelled" : $"no valid {_kind} within {timeout.TotalSeconds:0.###} s";
            string cause = LastError is null ? "no response from the agent yet" : LastError.Message;
            throw new WorkloadApiException(
                LastError?.Kind ?? WorkloadApiErrorKind.Unavailable,
                $"Could not get the first {_kind} from the Workload API at {address}: {why}; last error: {cause}",
                LastError,
                LastError?.StatusCode);
        }
    }

    /// <summary>Completes with the next valid state after the call.</summary>
    public Task<T> WaitForUpdateAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _next.Task.WaitAsync(cancellationToken);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await _watch(this, OnRestart, _stop.Token).ConfigureAwait(false);
        }
        catch (WorkloadApiException e)
        {
            // Non-retryable: the watch is over; a waiting CreateAsync gets this error.
            Stop(e);
        }
#pragma warning disable CA1031 // The watch task must never fault: DisposeAsync awaits it and must not rethrow.
        catch (Exception e)
#pragma warning restore CA1031
        {
            // StreamWatch survives every fault it can see, so this is a bug; still end cleanly.
            var error = new WorkloadApiException(WorkloadApiErrorKind.Other, $"The {_kind} watch ended unexpectedly ({e.GetType().Name}: {e.Message}).", e);
            LastError = error;
            WorkloadApiLog.FatalError(_logger, error.Kind, error.Message);
            Stop(error);
        }
    }

    private void Stop(WorkloadApiException error)
    {
        _ready.TrySetException(error);
        lock (_gate)
        {
            _next.TrySetException(error);
        }
    }

    private void OnRestart(WorkloadApiException error) =>
        _metrics.StreamRestarts.Add(
            1,
            new KeyValuePair<string, object?>("grpc.status_code", (error.StatusCode ?? StatusCode.Unavailable).ToString()),
            new KeyValuePair<string, object?>("kind", _metricKind));

    void IWorkloadApiWatcher<T>.OnUpdate(T update)
    {
        string? refusal;
        try
        {
            refusal = _accept(update);
        }
#pragma warning disable CA1031 // An application callback (X509SourceOptions.Picker) that throws costs this update only.
        catch (Exception e)
#pragma warning restore CA1031
        {
            refusal = $"Choosing the {_kind}'s SVID threw {e.GetType().Name}: {e.Message}; keeping the previous state.";
        }

        if (refusal is not null)
        {
            _release(update);
            ((IWorkloadApiWatcher<T>)this).OnError(new WorkloadApiException(WorkloadApiErrorKind.MalformedResponse, refusal));
            return;
        }

        TaskCompletionSource<T> signal;
        lock (_gate)
        {
            if (_disposed)
            {
                _release(update);
                return;
            }

            Replace(new Snapshot(update, null));
            signal = _next;
            _next = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        _metrics.Updates.Add(1, new KeyValuePair<string, object?>("kind", _metricKind));
        _onUpdate(update);
        _ready.TrySetResult();
        signal.TrySetResult(update);
    }

    void IWorkloadApiWatcher<T>.OnError(WorkloadApiException exception)
    {
        WorkloadApiException error = exception;
        LastError = error;
        switch (error.Kind)
        {
            case WorkloadApiErrorKind.MalformedResponse:
                _metrics.Discarded.Add(1, new KeyValuePair<string, object?>("kind", _metricKind));
                WorkloadApiLog.Discarded(_logger, error.Message);
                break;
            case WorkloadApiErrorKind.PermissionDenied:
                WorkloadApiLog.Withdrawn(_logger, error.Message);
                lock (_gate)
                {
                    if (!_disposed)
                    {
                        Replace(new Snapshot(null, error));
                    }
                }

                break;
            default:
                if (error.IsRetryable)
                {
                    WorkloadApiLog.RetryableError(_logger, error.Kind, error.Message);
                }
                else
                {
                    WorkloadApiLog.FatalError(_logger, error.Kind, error.Message);
                }

                break;
        }
    }

    /// <summary>
    /// Swaps the snapshot. The state it replaces is kept one more generation before release: a TLS
    /// handshake that read it just before the swap can finish with it.
    /// </summary>
    private void Replace(Snapshot next)
    {
        T? previous = _snapshot.Value;
        _snapshot = next;
        if (_retired is not null && !ReferenceEquals(_retired, next.Value))
        {
            _release(_retired);
        }

        _retired = previous;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _next.TrySetException(new ObjectDisposedException(GetType().Name));
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_watching is not null)
        {
            await _watching.ConfigureAwait(false);
        }

        lock (_gate)
        {
            Replace(new Snapshot(null, null));
            if (_retired is not null)
            {
                _release(_retired);
                _retired = null;
            }
        }

        _ready.TrySetException(new ObjectDisposedException(GetType().Name));
        _stop.Dispose();
    }

    private sealed record Snapshot(T? Value, WorkloadApiException? Withdrawal);
}

using Google.Protobuf;
using Grpc.Core;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.Testing;

/// <summary>
/// Everything a <see cref="WorkloadApiServer"/> remembers across restarts: the identity state, the
/// open streams, injected faults, recorded calls and the tasks waiting for them. One lock guards it
/// all, so a change and its fan-out to the open streams are atomic and ordered.
/// </summary>
internal sealed class WorkloadApiServerState(TimeProvider timeProvider) : IDisposable
{
    internal const string SecurityHeader = "workload.spiffe.io";
    internal const string NoIdentityDetail = "no identity issued";

    private readonly Lock _gate = new();
    private readonly List<RecordedCall> _calls = [];
    private readonly List<StreamSubscriber> _subscribers = [];
    private readonly List<Waiter> _waiters = [];
    private readonly Dictionary<WorkloadApiMethod, Queue<Status>> _injectedErrors = [];

    private X509SVIDResponse? _x509Svids;
    private X509BundlesResponse? _x509Bundles;
    private JWTBundlesResponse? _jwtBundles;
    private Func<JwtSvidRequestInfo, IReadOnlyList<WorkloadApiJwtSvid>>? _jwtSvidMinter;
    private Func<string, string, (string SpiffeId, IDictionary<string, object?> Claims)>? _jwtSvidValidator;
    private CancellationTokenSource _run = new();

    /// <summary>Cancelled when the current Kestrel run stops; stream handlers end with <c>Unavailable</c>.</summary>
    public CancellationToken Stopping
    {
        get
        {
            lock (_gate)
            {
                return _run.Token;
            }
        }
    }

    /// <summary>Releases the run token; called once the server has stopped for good.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _run.Dispose();
        }
    }

    public void BeginRun()
    {
        lock (_gate)
        {
            if (_run.IsCancellationRequested)
            {
                _run.Dispose();
                _run = new CancellationTokenSource();
            }
        }
    }

    public void EndRun()
    {
        CancellationTokenSource run;
        lock (_gate)
        {
            run = _run;
            foreach (StreamSubscriber subscriber in _subscribers)
            {
                subscriber.End(new Status(StatusCode.Unavailable, "workload API server stopping"));
            }

            _subscribers.Clear();
            SignalWaiters();
        }

        // Outside the lock: cancellation callbacks run inline.
        run.Cancel();
    }

    // ---- Calls and fault injection -------------------------------------------------------------

    /// <summary>Records the call, then applies an injected fault and the security-header rule (SPIFFE-RULES A6 #80/#81).</summary>
    public void Admit(WorkloadApiMethod method, ServerCallContext context, IReadOnlyList<string> audiences, string? spiffeId, string? token)
    {
        var metadata = new List<KeyValuePair<string, string>>(context.RequestHeaders.Count);
        foreach (Metadata.Entry entry in context.RequestHeaders)
        {
            metadata.Add(new(entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value));
        }

        var call = new RecordedCall(method, metadata, audiences, spiffeId, token, timeProvider.GetUtcNow());
        Status? injected = null;
        lock (_gate)
        {
            _calls.Add(call);
            if (_injectedErrors.TryGetValue(method, out Queue<Status>? queue) && queue.Count > 0)
            {
                injected = queue.Dequeue();
            }

            SignalWaiters();
        }

        if (injected is { } status)
        {
            throw new RpcException(status);
        }

        // Exactly one value, exactly "true": the header is case-sensitive (WE §3).
        IReadOnlyList<string> values = call.GetMetadataValues(SecurityHeader);
        if (values.Count != 1 || !string.Equals(values[0], "true", StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "security header missing from request"));
        }
    }

    public void InjectError(WorkloadApiMethod method, Status status, int times)
    {
        lock (_gate)
        {
            if (!_injectedErrors.TryGetValue(method, out Queue<Status>? queue))
            {
                queue = new Queue<Status>();
                _injectedErrors[method] = queue;
            }

            for (int i = 0; i < times; i++)
            {
                queue.Enqueue(status);
            }
        }
    }

    public IReadOnlyList<RecordedCall> SnapshotCalls()
    {
        lock (_gate)
        {
            return [.. _calls];
        }
    }

    public void ClearCalls()
    {
        lock (_gate)
        {
            _calls.Clear();
        }
    }

    // ---- State ---------------------------------------------------------------------------------

    public void SetX509Svids(X509SVIDResponse? response) => Replace(ref _x509Svids, response, WorkloadApiMethod.FetchX509Svid);

    public void SetX509Bundles(X509BundlesResponse? response) => Replace(ref _x509Bundles, response, WorkloadApiMethod.FetchX509Bundles);

    public void SetJwtBundles(JWTBundlesResponse? response) => Replace(ref _jwtBundles, response, WorkloadApiMethod.FetchJwtBundles);

    public void SetJwtSvidMinter(Func<JwtSvidRequestInfo, IReadOnlyList<WorkloadApiJwtSvid>>? minter)
    {
        lock (_gate)
        {
            _jwtSvidMinter = minter;
        }
    }

    public Func<JwtSvidRequestInfo, IReadOnlyList<WorkloadApiJwtSvid>>? JwtSvidMinter
    {
        get
        {
            lock (_gate)
            {
                return _jwtSvidMinter;
            }
        }
    }

    public Func<string, string, (string SpiffeId, IDictionary<string, object?> Claims)>? JwtSvidValidator
    {
        get
        {
            lock (_gate)
            {
                return _jwtSvidValidator;
            }
        }

        set
        {
            lock (_gate)
            {
                _jwtSvidValidator = value;
            }
        }
    }

    public void SetNoIdentity()
    {
        lock (_gate)
        {
            _x509Svids = null;
            _x509Bundles = null;
            _jwtBundles = null;
            _jwtSvidMinter = null;
            EndStreamsLocked(new Status(StatusCode.PermissionDenied, NoIdentityDetail), method: null);
        }
    }

    /// <summary>Sends a message to the open streams of one method without storing it; returns how many streams got it.</summary>
    public int Push(WorkloadApiMethod method, IMessage message)
    {
        lock (_gate)
        {
            return SendLocked(method, message);
        }
    }

    public void EndStreams(Status status, WorkloadApiMethod? method)
    {
        lock (_gate)
        {
            EndStreamsLocked(status, method);
        }
    }

    // ---- Streams -------------------------------------------------------------------------------

    /// <summary>
    /// Registers a stream and queues the current state as its first message, atomically, so no change
    /// can fall between the two. Returns <see langword="null"/> when there is nothing to send (no identity).
    /// </summary>
    public StreamSubscriber? Subscribe(WorkloadApiMethod method)
    {
        lock (_gate)
        {
            IMessage? current = method switch
            {
                WorkloadApiMethod.FetchX509Svid => _x509Svids,
                WorkloadApiMethod.FetchX509Bundles => _x509Bundles,
                WorkloadApiMethod.FetchJwtBundles => _jwtBundles,
                _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Not a streaming method."),
            };
            if (current is null)
            {
                return null;
            }

            var subscriber = new StreamSubscriber(method);
            subscriber.Send(current);
            _subscribers.Add(subscriber);
            SignalWaiters();
            return subscriber;
        }
    }

    public void Unsubscribe(StreamSubscriber subscriber)
    {
        lock (_gate)
        {
            if (_subscribers.Remove(subscriber))
            {
                SignalWaiters();
            }
        }
    }

    public int CountOpenStreams(WorkloadApiMethod method)
    {
        lock (_gate)
        {
            return CountOpenStreamsLocked(method);
        }
    }

    // ---- Waiting -------------------------------------------------------------------------------

    public Task<RecordedCall> WaitForCallAsync(WorkloadApiMethod method, int count, CancellationToken cancellationToken)
    {
        return WaitAsync(
            () =>
            {
                int seen = 0;
                foreach (RecordedCall call in _calls)
                {
                    if (call.Method == method && ++seen == count)
                    {
                        return call;
                    }
                }

                return null;
            },
            cancellationToken);
    }

    public Task WaitForOpenStreamsAsync(WorkloadApiMethod method, int count, CancellationToken cancellationToken)
    {
        return WaitAsync(() => CountOpenStreamsLocked(method) >= count ? (object)true : null, cancellationToken);
    }

    private async Task<T> WaitAsync<T>(Func<T?> probeLocked, CancellationToken cancellationToken)
        where T : class
    {
        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new Waiter(probeLocked);
        lock (_gate)
        {
            if (probeLocked() is { } ready)
            {
                return ready;
            }

            _waiters.Add(waiter);
        }

        using CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
            _ =>
            {
                lock (_gate)
                {
                    _waiters.Remove(waiter);
                }

                waiter.Completion.TrySetCanceled(cancellationToken);
            },
            null);
        return (T)await waiter.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Completes every waiter whose condition now holds. Caller holds the lock.</summary>
    private void SignalWaiters()
    {
        for (int i = _waiters.Count - 1; i >= 0; i--)
        {
            Waiter waiter = _waiters[i];
            if (waiter.Probe() is { } result)
            {
                _waiters.RemoveAt(i);
                waiter.Completion.TrySetResult(result);
            }
        }
    }

    // ---- Locked internals ----------------------------------------------------------------------

    private void Replace<T>(ref T? field, T? value, WorkloadApiMethod method)
        where T : class, IMessage
    {
        lock (_gate)
        {
            field = value;
            if (value is null)
            {
                EndStreamsLocked(new Status(StatusCode.PermissionDenied, NoIdentityDetail), method);
            }
            else
            {
                SendLocked(method, value);
            }
        }
    }

    private int SendLocked(WorkloadApiMethod method, IMessage message)
    {
        int sent = 0;
        foreach (StreamSubscriber subscriber in _subscribers)
        {
            if (subscriber.Method == method)
            {
                subscriber.Send(message);
                sent++;
            }
        }

        return sent;
    }

    private void EndStreamsLocked(Status status, WorkloadApiMethod? method)
    {
        // Ended streams leave the registry at once: the open-stream count then means "will receive pushes".
        for (int i = _subscribers.Count - 1; i >= 0; i--)
        {
            StreamSubscriber subscriber = _subscribers[i];
            if (method is null || subscriber.Method == method)
            {
                subscriber.End(status);
                _subscribers.RemoveAt(i);
            }
        }

        SignalWaiters();
    }

    private int CountOpenStreamsLocked(WorkloadApiMethod method)
    {
        int count = 0;
        foreach (StreamSubscriber subscriber in _subscribers)
        {
            if (subscriber.Method == method)
            {
                count++;
            }
        }

        return count;
    }

    private sealed class Waiter(Func<object?> probe)
    {
        public Func<object?> Probe { get; } = probe;

        public TaskCompletionSource<object> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

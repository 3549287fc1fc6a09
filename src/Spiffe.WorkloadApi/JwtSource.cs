using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.WorkloadApi.Internal;

namespace Spiffe.WorkloadApi;

/// <summary>
/// JWT-SVIDs for the workload and the JWT bundles to validate other workloads' tokens with, kept
/// up to date from the Workload API. Tokens are cached per audience set and subject and fetched
/// again once half their lifetime has passed; an expired token is never returned, and after the
/// agent denies the workload no cached token is returned either. Concurrent requests for a token
/// that is not cached share one Workload API call.
/// </summary>
/// <remarks>
/// <code>
/// await using var jwt = await JwtSource.CreateAsync();
/// JwtSvid token = await jwt.GetJwtSvidAsync(new JwtSvidRequest(["https://backend.example.org"]));
/// request.Headers.Authorization = new("Bearer", token.Token);
/// </code>
/// </remarks>
public sealed class JwtSource : IJwtSvidSource, IJwtBundleSetSource, IAsyncDisposable
{
    private readonly WorkloadApiClient _client;
    private readonly bool _ownsClient;
    private readonly SourceCore<JwtBundleSet> _core;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<JwtSvidRequest, JwtSvid> _cache = new();
    private readonly ConcurrentDictionary<JwtSvidRequest, Lazy<Task<JwtSvid>>> _inFlight = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly SourceStatus _status = new();
    private int _denials;

    private JwtSource(WorkloadApiClient client, bool ownsClient)
    {
        _client = client;
        _ownsClient = ownsClient;
        _logger = client.LoggerFactory.CreateLogger<JwtSource>();
        _core = new SourceCore<JwtBundleSet>(
            "JWT bundles",
            (watcher, onRestart, ct) => client.WatchJwtBundlesAsync(_status.Wrap(new DenialWatcher(this, watcher)), onRestart, ct),
            static _ => null,
            static _ => { },
            bundles =>
            {
                _status.RecordUpdate(client.TimeProvider.GetUtcNow());
                WorkloadApiLog.BundlesUpdated(_logger, "JWT", Address.ToString(), string.Join(", ", bundles.Bundles.Select(static b => b.TrustDomain.Name)));
            },
            _logger,
            client.Metrics);
    }

    /// <summary>The Workload API endpoint this source talks to.</summary>
    public WorkloadApiAddress Address => _client.Address;

    /// <summary>Creates a source and waits for the first JWT bundles.</summary>
    /// <exception cref="WorkloadApiException">No bundles within the start timeout (the message names the last error), or a non-retryable error.</exception>
    public static async Task<JwtSource> CreateAsync(JwtSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new JwtSourceOptions();
        JwtSource source = Create(options);
        try
        {
            await source.WaitUntilReadyAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false);
            return source;
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates a source and starts watching the JWT bundles without waiting for them (see
    /// <see cref="WaitUntilReadyAsync"/>); until they arrive no token validates against it.
    /// <see cref="JwtSourceOptions.StartTimeout"/> is not used.
    /// </summary>
    /// <exception cref="WorkloadApiException">The configuration is invalid.</exception>
    public static JwtSource Create(JwtSourceOptions? options = null)
    {
        options ??= new JwtSourceOptions();
        bool owns = options.Client is null;
        WorkloadApiClient client = options.Client ?? WorkloadApiClient.Create(options.ClientOptions);
        var source = new JwtSource(client, owns);
        source._core.Start();
        return source;
    }

    /// <summary>Completes once the source has had its first JWT bundles (at once if it already has).</summary>
    /// <exception cref="WorkloadApiException">None within <paramref name="timeout"/> or before cancellation (the message names the last error), or a non-retryable error.</exception>
    public Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _core.WaitUntilReadyAsync(timeout, Address.ToString(), cancellationToken);

    /// <summary>When the last valid JWT bundles update was applied (by the client's clock); null before the first.</summary>
    public DateTimeOffset? LastUpdatedAt => _status.UpdatedAt;

    /// <summary>
    /// The newest error of the JWT bundles watch since its last valid update (the agent unreachable, a
    /// stream that ended, a discarded malformed message, a denial), or null when the last event was a valid
    /// update. The current bundles, if any, stay in force meanwhile unless the agent denied the workload.
    /// </summary>
    public WorkloadApiException? LastError => _status.Error;

    /// <summary>The current JWT bundle of <paramref name="trustDomain"/>, or null when none is trusted.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _core.Current?.GetJwtBundle(trustDomain);
    }

    /// <summary>All current JWT bundles.</summary>
    /// <exception cref="WorkloadApiException">The agent withdrew them (PermissionDenied) or the source is disposed.</exception>
    public JwtBundleSet GetJwtBundleSet() =>
        _core.Current ?? throw new WorkloadApiException(
            _core.Withdrawal?.Kind ?? WorkloadApiErrorKind.Unavailable,
            $"No JWT bundles from {Address}: {_core.Withdrawal?.Message ?? "the source is disposed."}",
            _core.Withdrawal);

    /// <summary>
    /// A JWT-SVID for the request's audiences, for the default identity or the request's subject:
    /// from the cache (synchronously) while less than half its lifetime has passed, otherwise
    /// freshly fetched, with one Workload API call shared by every caller asking the same question
    /// at the same time.
    /// </summary>
    /// <param name="request">The audiences and optional subject.</param>
    /// <param name="cancellationToken">Cancels this caller's wait; a fetch shared with other callers goes on.</param>
    /// <exception cref="ArgumentException"><paramref name="request"/> is <c>default</c>.</exception>
    /// <exception cref="WorkloadApiException">The agent refused (the cache for this workload is cleared on PermissionDenied).</exception>
    /// <exception cref="ObjectDisposedException">The source is disposed.</exception>
    public ValueTask<JwtSvid> GetJwtSvidAsync(JwtSvidRequest request, CancellationToken cancellationToken = default)
    {
        if (request.IsDefault)
        {
            throw new ArgumentException("The JWT-SVID request is default(JwtSvidRequest); create it with new JwtSvidRequest(audiences).", nameof(request));
        }

        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (_cache.TryGetValue(request, out JwtSvid? cached) && IsFresh(cached, _client.TimeProvider.GetUtcNow()))
        {
            return ValueTask.FromResult(cached);
        }

        return new ValueTask<JwtSvid>(JoinFetchAsync(request, cancellationToken));
    }

    private async Task<JwtSvid> JoinFetchAsync(JwtSvidRequest request, CancellationToken cancellationToken)
    {
        Lazy<Task<JwtSvid>> fetch = _inFlight.GetOrAdd(request, r => new Lazy<Task<JwtSvid>>(() => FetchAndCacheAsync(r)));
        return await fetch.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // Runs once per concurrent question, on the source's lifetime rather than any one caller's token.
    private async Task<JwtSvid> FetchAndCacheAsync(JwtSvidRequest request)
    {
        int denialsBefore = Volatile.Read(ref _denials);
        JwtSvid fresh;
        try
        {
            fresh = await _client.FetchJwtSvidAsync(request.Audiences, request.Subject, _disposed.Token).ConfigureAwait(false);
        }
        catch (WorkloadApiException e) when (e.Kind == WorkloadApiErrorKind.PermissionDenied)
        {
            OnDenied();
            throw;
        }
        finally
        {
            // Only this fetch is in flight for the request (GetOrAdd returned it to everyone else).
            _inFlight.TryRemove(request, out _);
        }

        // A denial that arrived while this fetch was in flight wins: don't cache across it.
        if (Volatile.Read(ref _denials) == denialsBefore)
        {
            _cache[request] = fresh;
        }

        WorkloadApiLog.JwtSvidFetched(_logger, fresh.Id.ToString(), string.Join(",", fresh.Audience), fresh.ExpiresAt);
        return fresh;
    }

    private static bool IsFresh(JwtSvid svid, DateTimeOffset now)
    {
        DateTimeOffset issued = svid.IssuedAt ?? svid.ExpiresAt - TimeSpan.FromMinutes(5);
        DateTimeOffset refreshAt = issued + ((svid.ExpiresAt - issued) / 2);
        return now < refreshAt && now < svid.ExpiresAt;
    }

    private void OnDenied()
    {
        Interlocked.Increment(ref _denials);
        _cache.Clear();
    }

    /// <summary>Completes with the next JWT bundles update.</summary>
    public Task<JwtBundleSet> WaitForUpdateAsync(CancellationToken cancellationToken = default) => _core.WaitForUpdateAsync(cancellationToken);

    /// <summary>Stops the stream, drops cached tokens, and disposes the client if the source created it. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_disposed.IsCancellationRequested)
        {
            await _disposed.CancelAsync().ConfigureAwait(false);
        }

        await _core.DisposeAsync().ConfigureAwait(false);
        _cache.Clear();
        if (_ownsClient)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }

    // Sees the bundle stream's errors first, so a PermissionDenied there also clears the token cache.
    private sealed class DenialWatcher(JwtSource source, IWorkloadApiWatcher<JwtBundleSet> inner) : IWorkloadApiWatcher<JwtBundleSet>
    {
        public void OnUpdate(JwtBundleSet update) => inner.OnUpdate(update);

        public void OnError(WorkloadApiException exception)
        {
            WorkloadApiException error = exception;
            if (error.Kind == WorkloadApiErrorKind.PermissionDenied)
            {
                source.OnDenied();
            }

            inner.OnError(error);
        }
    }
}

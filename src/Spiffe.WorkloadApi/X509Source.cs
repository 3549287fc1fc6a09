using System.Globalization;
using Microsoft.Extensions.Logging;
using Spiffe.Bundles;
using Spiffe.WorkloadApi.Internal;
using Spiffe.X509;

namespace Spiffe.WorkloadApi;

/// <summary>
/// The workload's current X509-SVID and X.509 bundles, kept up to date from the Workload API.
/// Reads are lock-free and always return a validated state; rotation happens behind the caller's
/// back. While the agent denies the workload an identity, <see cref="GetX509Svid"/> throws rather
/// than hand out a withdrawn SVID.
/// </summary>
/// <remarks>
/// <code>
/// await using var source = await X509Source.CreateAsync();
/// X509Svid svid = source.GetX509Svid();
/// X509Bundle? peerBundle = source.GetX509Bundle(peerId.TrustDomain);
/// </code>
/// Ownership: everything this source hands out (SVIDs, contexts, bundles) belongs to the source.
/// Disposing it does nothing (<c>using (source.GetX509Svid()) { }</c> breaks nothing), and the
/// source never disposes it either, not on rotation and not when the source is disposed, so an
/// object held across rotations stays readable; the finalizers release superseded states once
/// nothing refers to them. Ask the source again for the current SVID; call
/// <see cref="X509Svid.Copy"/> for an instance whose lifetime you control. Each read returns the
/// context and the SVID chosen from it as one snapshot.
/// </remarks>
public sealed class X509Source : IX509SvidSource, IX509BundleSetSource, IAsyncDisposable
{
    private static readonly X509BundleSet s_noBundles = new([]);
    private readonly WorkloadApiClient _client;
    private readonly bool _ownsClient;
    private readonly X509SourceOptions _options;
    private readonly SourceCore<X509Context> _core;
    private readonly ILogger _logger;
    private volatile WatchStatus _status = new(null, null);
    private string? _presentedSerial;
    private volatile bool _disposed;

    private X509Source(WorkloadApiClient client, bool ownsClient, X509SourceOptions options)
    {
        _client = client;
        _ownsClient = ownsClient;
        _options = options;
        _logger = client.LoggerFactory.CreateLogger<X509Source>();
        _core = new SourceCore<X509Context>(
            "X.509 context",
            (watcher, onRestart, ct) => client.WatchX509ContextAsync(new StatusWatcher(this, watcher), onRestart, ct),
            Accept,
            static c => c.ReleaseFromSource(),
            OnUpdated,
            _logger,
            client.Metrics);
    }

    /// <summary>Raised after every valid update, on the watch loop: keep handlers short.</summary>
    public event EventHandler<X509SourceUpdatedEventArgs>? Updated;

    /// <summary>The Workload API endpoint this source watches.</summary>
    public WorkloadApiAddress Address => _client.Address;

    /// <summary>
    /// Creates a source and waits for the first valid X.509 context.
    /// </summary>
    /// <exception cref="WorkloadApiException">
    /// The first state did not arrive within <see cref="X509SourceOptions.StartTimeout"/> or before cancellation
    /// (the message carries the last error, e.g. "connection refused"), or the agent answered an error that retrying
    /// cannot fix (InvalidArgument, Unimplemented), or the configuration is invalid.
    /// </exception>
    public static async Task<X509Source> CreateAsync(X509SourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new X509SourceOptions();
        X509Source source = Create(options);
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
    /// Creates a source and starts watching without waiting: <see cref="GetX509Svid"/> throws until
    /// the first valid SVID arrives (a TLS handshake then fails rather than waits). For hosts that
    /// must hand out the source before it is ready, e.g. a DI singleton that a hosted service awaits
    /// with <see cref="WaitUntilReadyAsync"/>.
    /// </summary>
    /// <remarks><see cref="X509SourceOptions.StartTimeout"/> is not used: the caller decides how long to wait.</remarks>
    /// <exception cref="WorkloadApiException">The configuration is invalid (<see cref="WorkloadApiErrorKind.Configuration"/>).</exception>
    public static X509Source Create(X509SourceOptions? options = null)
    {
        options ??= new X509SourceOptions();
        bool owns = options.Client is null;
        WorkloadApiClient client = options.Client ?? WorkloadApiClient.Create(options.ClientOptions);
        var source = new X509Source(client, owns, options);
        source._core.Start();
        client.Metrics.Track(source);
        return source;
    }

    /// <summary>
    /// Completes once the source has had a valid X.509 context (at once if it already has).
    /// </summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits until cancelled.</param>
    /// <param name="cancellationToken">Stops waiting (the source keeps watching).</param>
    /// <exception cref="WorkloadApiException">
    /// None arrived within <paramref name="timeout"/> or before cancellation (the message names the last error, e.g.
    /// "connection refused"), or the agent answered an error that retrying cannot fix; the source keeps
    /// retrying after a timeout.
    /// </exception>
    public Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _core.WaitUntilReadyAsync(timeout, Address.ToString(), cancellationToken);

    /// <summary>When the last valid X.509 context was applied (by the client's clock); null before the first.</summary>
    public DateTimeOffset? LastUpdatedAt => _status.UpdatedAt;

    /// <summary>
    /// The newest error of the watch since the last valid update (the agent unreachable, a stream that
    /// ended, a discarded malformed message, a denial), or null when the last event was a valid update.
    /// The current SVID, if any, stays in force meanwhile unless the agent denied the identity.
    /// </summary>
    public WorkloadApiException? LastError => _status.Error;

    /// <summary>The current state: every SVID and every bundle. Owned by the source: disposing it does nothing.</summary>
    /// <exception cref="WorkloadApiException">The agent withdrew the workload's identity (PermissionDenied), or the source is disposed.</exception>
    public X509Context GetX509Context() => _core.Current ?? throw NoState();

    /// <summary>
    /// The SVID to present now: the default one, or the one chosen by hint or picker. Owned by the
    /// source: disposing it does nothing, and it stays readable after rotations; use
    /// <see cref="X509Svid.Copy"/> for one you own.
    /// </summary>
    /// <exception cref="WorkloadApiException">The agent withdrew the workload's identity (PermissionDenied), or the source is disposed.</exception>
    public X509Svid GetX509Svid() => _core.Current?.Selected ?? throw NoState();

    /// <summary>The current X.509 bundle of <paramref name="trustDomain"/> (own or federated), or null when none is trusted. Owned by the source: disposing it does nothing.</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _core.Current?.Bundles.GetX509Bundle(trustDomain);
    }

    /// <summary>
    /// The current X.509 bundles (own and federated): the same instance until an update arrives,
    /// so TLS can rebuild its chain policy only when they change. Empty while there is no state.
    /// Its bundles are owned by the source: disposing them does nothing.
    /// </summary>
    public X509BundleSet GetX509BundleSet() => _core.Current?.Bundles ?? s_noBundles;

    /// <summary>Completes with the next valid state (owned by the source, like <see cref="GetX509Context"/>).</summary>
    public Task<X509Context> WaitForUpdateAsync(CancellationToken cancellationToken = default) => _core.WaitForUpdateAsync(cancellationToken);

    internal bool TryGetExpiry(out string? id, out double secondsLeft)
    {
        X509Svid? svid = _core.Current?.Selected;
        id = svid?.Id.ToString();
        secondsLeft = svid is null ? 0 : (svid.ExpiresAt - _client.TimeProvider.GetUtcNow()).TotalSeconds;
        return svid is not null;
    }

    // Runs on the watch loop before the state is published; the choice is kept for OnUpdated.
    private string? Accept(X509Context context)
    {
        X509Svid? chosen = _options.Picker is { } picker
            ? picker(context.Svids)
            : _options.Hint is { } hint ? context.FindByHint(hint) : context.DefaultSvid;
        if (chosen is null || !context.Svids.Contains(chosen))
        {
            return _options.Picker is not null
                ? $"The X509SourceOptions.Picker returned no SVID of the update from {Address}; keeping the previous SVID."
                : $"The X.509 update from {Address} has no SVID with hint \"{_options.Hint}\"; keeping the previous SVID.";
        }

        context.TakeForSource(chosen);
        return null;
    }

    private void OnUpdated(X509Context context)
    {
        X509Svid selected = context.Selected!;
        _status = new WatchStatus(_client.TimeProvider.GetUtcNow(), null);

        // By serial, not by the previous SVID object: a withdrawal may already have released it.
        string serial = selected.Certificate.SerialNumber;
        if (_presentedSerial is not null && !string.Equals(_presentedSerial, serial, StringComparison.Ordinal))
        {
            _client.Metrics.Rotations.Add(1, new KeyValuePair<string, object?>("spiffe.id", selected.Id.ToString()));
        }

        _presentedSerial = serial;

        if (_logger.IsEnabled(LogLevel.Information))
        {
            WorkloadApiLog.X509Updated(
                _logger,
                Address.ToString(),
                selected.Id.ToString(),
                serial,
                selected.ExpiresAt,
                context.Svids.Count,
                context.Bundles.Count);
        }

        EventHandler<X509SourceUpdatedEventArgs>? handlers = Updated;
        if (handlers is null)
        {
            return;
        }

        var args = new X509SourceUpdatedEventArgs(context);
        foreach (EventHandler<X509SourceUpdatedEventArgs> handler in handlers.GetInvocationList().Cast<EventHandler<X509SourceUpdatedEventArgs>>())
        {
            try
            {
                handler(this, args);
            }
#pragma warning disable CA1031 // A subscriber's bug must not stop rotation for everyone else.
            catch (Exception e)
#pragma warning restore CA1031
            {
                WorkloadApiLog.HandlerFailed(_logger, e);
            }
        }
    }

    private WorkloadApiException NoState()
    {
        if (_core.Withdrawal is { } withdrawal)
        {
            return new WorkloadApiException(
                WorkloadApiErrorKind.PermissionDenied,
                string.Create(CultureInfo.InvariantCulture, $"No X509-SVID: the Workload API at {Address} denied this workload an identity; the source retries and resumes when it is granted. Cause: {withdrawal.Message}"),
                withdrawal,
                withdrawal.StatusCode);
        }

        if (_disposed)
        {
            return new WorkloadApiException(WorkloadApiErrorKind.Unavailable, $"No X509-SVID: the source for {Address} is disposed.");
        }

        WorkloadApiException? last = _core.LastError;
        return new WorkloadApiException(
            last?.Kind ?? WorkloadApiErrorKind.Unavailable,
            $"No X509-SVID yet: the source has not received a valid one from the Workload API at {Address}; last error: {last?.Message ?? "none (waiting for the agent's first answer)"}",
            last,
            last?.StatusCode);
    }

    /// <summary>
    /// Stops the stream and lets go of the current state (objects already handed out stay readable);
    /// disposes the client if the source created it. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _core.DisposeAsync().ConfigureAwait(false);
        if (_ownsClient)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed record WatchStatus(DateTimeOffset? UpdatedAt, WorkloadApiException? Error);

    // Sees every error of the watch (a refused update is reported by the core, not here) and records
    // it for health checks; a valid update clears it (OnUpdated).
    private sealed class StatusWatcher(X509Source source, IWorkloadApiWatcher<X509Context> inner) : IWorkloadApiWatcher<X509Context>
    {
        public void OnUpdate(X509Context update) => inner.OnUpdate(update);

        public void OnError(WorkloadApiException exception)
        {
            source._status = source._status with { Error = exception };
            inner.OnError(exception);
        }
    }
}

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

    private X509Source(WorkloadApiClient client, bool ownsClient, X509SourceOptions options)
    {
        _client = client;
        _ownsClient = ownsClient;
        _options = options;
        _logger = client.LoggerFactory.CreateLogger<X509Source>();
        _core = new SourceCore<X509Context>(
            "X.509 context",
            (watcher, onRestart, ct) => client.WatchX509ContextAsync(watcher, onRestart, ct),
            Accept,
            static c => c.ReleaseFromSource(),
            OnUpdated,
            _logger);
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
        bool owns = options.Client is null;
        WorkloadApiClient client = options.Client ?? WorkloadApiClient.Create(options.ClientOptions);
        var source = new X509Source(client, owns, options);
        try
        {
            source._core.Start();
            await source._core.WaitUntilReadyAsync(options.StartTimeout, client.Address.ToString(), cancellationToken).ConfigureAwait(false);
            WorkloadApiMetrics.Track(source);
            return source;
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

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
        if (_logger.IsEnabled(LogLevel.Information))
        {
            WorkloadApiLog.X509Updated(
                _logger,
                Address.ToString(),
                selected.Id.ToString(),
                selected.Certificate.SerialNumber,
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

    private WorkloadApiException NoState() => _core.Withdrawal is { } withdrawal
        ? new WorkloadApiException(
            WorkloadApiErrorKind.PermissionDenied,
            string.Create(CultureInfo.InvariantCulture, $"No X509-SVID: the Workload API at {Address} denied this workload an identity; the source retries and resumes when it is granted. Cause: {withdrawal.Message}"),
            withdrawal,
            withdrawal.StatusCode)
        : new WorkloadApiException(WorkloadApiErrorKind.Unavailable, $"No X509-SVID: the source for {Address} is disposed.");

    /// <summary>
    /// Stops the stream and lets go of the current state (objects already handed out stay readable);
    /// disposes the client if the source created it. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _core.DisposeAsync().ConfigureAwait(false);
        if (_ownsClient)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }
}

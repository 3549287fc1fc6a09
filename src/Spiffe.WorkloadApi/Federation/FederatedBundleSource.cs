using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spiffe.Bundles;

namespace Spiffe.Federation;

/// <summary>
/// Bundles of foreign trust domains, fetched from their federation bundle endpoints (SPIFFE
/// Federation §5) and kept current: each relationship is fetched at once, then again after its
/// bundle's <c>spiffe_refresh_hint</c> (5 minutes when absent), held between
/// <see cref="FederatedBundleSourceOptions.MinRefreshInterval"/> and
/// <see cref="FederatedBundleSourceOptions.MaxRefreshInterval"/>. A failed fetch, an answer that is
/// not a SPIFFE bundle, or a bundle with an older <c>spiffe_sequence</c> keeps the last good bundle
/// and is retried at the next interval.
/// </summary>
/// <remarks>
/// <para>
/// Each bundle stays bound to its relationship's trust domain. Combine the source with the
/// Workload API's own bundles for the TLS glue and JWT validation:
/// </para>
/// <code>
/// await using var federated = new FederatedBundleSource(options);
/// var x509Bundles = new CombinedX509BundleSource(x509Source, federated);
/// var jwtBundles = new CombinedJwtBundleSource(jwtSource, federated);
/// listen.UseSpiffeMtls(x509Source, x509Bundles, SpiffeIdAuthorizer.MemberOf(partnerDomain));
/// </code>
/// <para>
/// <c>https_web</c> uses the system trust store (a relationship's
/// <see cref="FederationRelationship.WebTrustRoots"/> replaces it, for tests and private CAs).
/// <c>https_spiffe</c> authenticates the server by its SPIFFE ID with the bundle of its trust
/// domain: for an endpoint serving its own trust domain, the bootstrap bundle first and then each
/// bundle fetched. A superseded bundle is released one change later.
/// </para>
/// </remarks>
public sealed class FederatedBundleSource : IX509BundleSetSource, IJwtBundleSource, IAsyncDisposable
{
    private readonly BundleEndpointPoller[] _pollers;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private volatile Snapshot _snapshot = new(new X509BundleSet([]), []);
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;

    /// <summary>Creates the source and starts fetching every relationship's bundle in the background.</summary>
    /// <exception cref="ArgumentException">The options are invalid (a relationship without trust domain, URL or profile; an http URL; https_spiffe without endpoint ID or bundle; two relationships for one trust domain).</exception>
    public FederatedBundleSource(FederatedBundleSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        (FederationRelationship[] relationships, FederatedBundleSourceOptions validated) = options.Validate();
        _logger = validated.LoggerFactory?.CreateLogger<FederatedBundleSource>() ?? NullLogger<FederatedBundleSource>.Instance;
        _pollers = [.. relationships.Select(r => new BundleEndpointPoller(r, validated, _logger, Rebuild))];
        Rebuild();
        foreach (BundleEndpointPoller poller in _pollers)
        {
            poller.Start();
        }
    }

    /// <summary>Raised after a relationship's bundle changed; on a timer thread: keep handlers short.</summary>
    public event EventHandler? Updated;

    /// <summary>The current SPIFFE bundle of <paramref name="trustDomain"/> (with its sequence and refresh hint), or null when none has been fetched (or bootstrapped).</summary>
    public SpiffeBundle? GetSpiffeBundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _snapshot.Bundles.GetValueOrDefault(trustDomain);
    }

    /// <summary>The current X.509 bundle of <paramref name="trustDomain"/>, or null when none is known.</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain) => GetSpiffeBundle(trustDomain)?.GetX509Bundle(trustDomain);

    /// <summary>The current X.509 bundles, one per trust domain: the same instance until one changes.</summary>
    public X509BundleSet GetX509BundleSet() => _snapshot.X509;

    /// <summary>The current JWT bundle of <paramref name="trustDomain"/>, or null when none is known.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain) => GetSpiffeBundle(trustDomain)?.GetJwtBundle(trustDomain);

    /// <summary>
    /// Fetches every relationship's bundle now (after any fetch in progress), instead of waiting for
    /// its schedule, which restarts from now. True when at least one bundle changed; failures are
    /// logged and keep the last good bundles.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The source is disposed.</exception>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken = default)
    {
        bool[] changed = await Task.WhenAll(_pollers.Select(p => p.FetchAsync(cancellationToken))).ConfigureAwait(false);
        return changed.Contains(true);
    }

    /// <summary>Completes when a bundle next changes.</summary>
    /// <exception cref="ObjectDisposedException">The source is disposed.</exception>
    public Task WaitForUpdateAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _next.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>When the next scheduled fetch of <paramref name="trustDomain"/> is due.</summary>
    internal DateTimeOffset NextFetchAt(TrustDomain trustDomain) => _pollers.Single(p => p.TrustDomain.Equals(trustDomain)).NextFetchAt;

    /// <summary>Stops fetching and releases the bundles. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _next.TrySetException(new ObjectDisposedException(nameof(FederatedBundleSource)));
        }

        foreach (BundleEndpointPoller poller in _pollers)
        {
            await poller.DisposeAsync().ConfigureAwait(false);
        }

        _snapshot = new Snapshot(new X509BundleSet([]), []);
    }

    /// <summary>The trust domains fetched.</summary>
    public override string ToString() => $"FederatedBundleSource({string.Join(", ", _pollers.Select(p => p.TrustDomain.Name))})";

    private void Rebuild()
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var bundles = new Dictionary<TrustDomain, SpiffeBundle>();
            foreach (BundleEndpointPoller poller in _pollers ?? [])
            {
                if (poller.Current is { } bundle)
                {
                    bundles[poller.TrustDomain] = bundle;
                }
            }

            _snapshot = new Snapshot(new X509BundleSet(bundles.Select(b => b.Value.GetX509Bundle(b.Key)!)), bundles);
            signal = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
        EventHandler? handlers = Updated;
        if (handlers is null)
        {
            return;
        }

        foreach (EventHandler handler in handlers.GetInvocationList().Cast<EventHandler>())
        {
            try
            {
                handler(this, EventArgs.Empty);
            }
#pragma warning disable CA1031 // A subscriber's bug must not stop updates for everyone else.
            catch (Exception e)
#pragma warning restore CA1031
            {
                FederationLog.HandlerFailed(_logger, e);
            }
        }
    }

    private sealed record Snapshot(X509BundleSet X509, Dictionary<TrustDomain, SpiffeBundle> Bundles);
}

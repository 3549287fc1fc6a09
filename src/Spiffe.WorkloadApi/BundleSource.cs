using Microsoft.Extensions.Logging;
using Spiffe.Bundles;
using Spiffe.WorkloadApi.Internal;

namespace Spiffe.WorkloadApi;

/// <summary>
/// The X.509 and JWT bundles of every trust domain the workload trusts (own and federated), kept
/// up to date from the Workload API (<c>FetchX509Bundles</c> and <c>FetchJWTBundles</c>), for
/// workloads that validate peers without an identity of their own.
/// </summary>
public sealed class BundleSource : IX509BundleSource, IJwtBundleSource, IAsyncDisposable
{
    private readonly WorkloadApiClient _client;
    private readonly bool _ownsClient;
    private readonly SourceCore<X509BundleSet> _x509;
    private readonly SourceCore<JwtBundleSet> _jwt;
    private readonly SourceStatus _x509Status = new();
    private readonly SourceStatus _jwtStatus = new();

    private BundleSource(WorkloadApiClient client, bool ownsClient)
    {
        _client = client;
        _ownsClient = ownsClient;
        ILogger logger = client.LoggerFactory.CreateLogger<BundleSource>();
        string address = client.Address.ToString();
        _x509 = new SourceCore<X509BundleSet>(
            "X.509 bundles",
            (watcher, onRestart, ct) => client.WatchX509BundlesAsync(_x509Status.Wrap(watcher), onRestart, ct),
            static set =>
            {
                // Handed out from now on: the source's (ownership as in X509Source), so Dispose does
                // nothing and the source never disposes them; the finalizers release superseded sets.
                foreach (X509Bundle bundle in set)
                {
                    bundle.MarkOwnedBySource();
                }

                return null;
            },
            static _ => { },
            set =>
            {
                _x509Status.RecordUpdate(client.TimeProvider.GetUtcNow());
                WorkloadApiLog.BundlesUpdated(logger, "X.509", address, string.Join(", ", set.Select(static b => b.TrustDomain.Name)));
            },
            logger,
            client.Metrics);
        _jwt = new SourceCore<JwtBundleSet>(
            "JWT bundles",
            (watcher, onRestart, ct) => client.WatchJwtBundlesAsync(_jwtStatus.Wrap(watcher), onRestart, ct),
            static _ => null,
            static _ => { },
            set =>
            {
                _jwtStatus.RecordUpdate(client.TimeProvider.GetUtcNow());
                WorkloadApiLog.BundlesUpdated(logger, "JWT", address, string.Join(", ", set.Bundles.Select(static b => b.TrustDomain.Name)));
            },
            logger,
            client.Metrics);
    }

    /// <summary>The Workload API endpoint this source watches.</summary>
    public WorkloadApiAddress Address => _client.Address;

    /// <summary>Creates a source and waits until both the X.509 and the JWT bundles have arrived.</summary>
    /// <exception cref="WorkloadApiException">They did not arrive within the start timeout (the message names the last error), or a non-retryable error.</exception>
    public static async Task<BundleSource> CreateAsync(BundleSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new BundleSourceOptions();
        BundleSource source = Create(options);
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
    /// Creates a source and starts watching both bundle streams without waiting (see
    /// <see cref="WaitUntilReadyAsync"/>); until bundles arrive, no peer is trusted.
    /// <see cref="BundleSourceOptions.StartTimeout"/> is not used.
    /// </summary>
    /// <exception cref="WorkloadApiException">The configuration is invalid.</exception>
    public static BundleSource Create(BundleSourceOptions? options = null)
    {
        options ??= new BundleSourceOptions();
        bool owns = options.Client is null;
        WorkloadApiClient client = options.Client ?? WorkloadApiClient.Create(options.ClientOptions);
        var source = new BundleSource(client, owns);
        source._x509.Start();
        source._jwt.Start();
        return source;
    }

    /// <summary>Completes once both the X.509 and the JWT bundles have arrived (at once if they have).</summary>
    /// <exception cref="WorkloadApiException">They did not arrive within <paramref name="timeout"/> or before cancellation (the message names the last error), or a non-retryable error.</exception>
    public Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        string address = Address.ToString();
        return Task.WhenAll(
            _x509.WaitUntilReadyAsync(timeout, address, cancellationToken),
            _jwt.WaitUntilReadyAsync(timeout, address, cancellationToken));
    }

    /// <summary>
    /// When the last valid update of either stream (X.509 or JWT bundles) was applied (by the client's
    /// clock); null before the first.
    /// </summary>
    public DateTimeOffset? LastUpdatedAt => (_x509Status.UpdatedAt, _jwtStatus.UpdatedAt) switch
    {
        ({ } x, { } j) => x > j ? x : j,
        (var x, var j) => x ?? j,
    };

    /// <summary>
    /// The newest error of the X.509 bundles watch since its last valid update, else that of the JWT
    /// bundles watch (the agent unreachable, a stream that ended, a discarded malformed message, a
    /// denial); null when each stream's last event was a valid update.
    /// </summary>
    public WorkloadApiException? LastError => _x509Status.Error ?? _jwtStatus.Error;

    /// <summary>The current X.509 bundle of <paramref name="trustDomain"/>, or null when none is trusted. Owned by the source: disposing it does nothing, and it stays readable after updates (<see cref="X509Bundle.Copy"/> gives one you own).</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _x509.Current?.GetX509Bundle(trustDomain);
    }

    /// <summary>The current JWT bundle of <paramref name="trustDomain"/>, or null when none is trusted.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _jwt.Current?.GetJwtBundle(trustDomain);
    }

    /// <summary>Completes with the next X.509 bundles update.</summary>
    public Task<X509BundleSet> WaitForX509UpdateAsync(CancellationToken cancellationToken = default) => _x509.WaitForUpdateAsync(cancellationToken);

    /// <summary>Completes with the next JWT bundles update.</summary>
    public Task<JwtBundleSet> WaitForJwtUpdateAsync(CancellationToken cancellationToken = default) => _jwt.WaitForUpdateAsync(cancellationToken);

    /// <summary>Stops both streams and releases certificates; disposes the client if the source created it. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        await _x509.DisposeAsync().ConfigureAwait(false);
        await _jwt.DisposeAsync().ConfigureAwait(false);
        if (_ownsClient)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }
}

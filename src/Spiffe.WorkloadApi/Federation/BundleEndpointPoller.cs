using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Spiffe.Bundles;
using Spiffe.Tls;

namespace Spiffe.Federation;

/// <summary>
/// Fetches one relationship's bundle on its own schedule and keeps the last good one: a failed
/// request, a document that does not parse, or one with an older <c>spiffe_sequence</c> never
/// replaces it (SPIFFE Federation §4.2).
/// </summary>
internal sealed class BundleEndpointPoller : IAsyncDisposable
{
    private const int MaxBundleBytes = 4 * 1024 * 1024;
    private const int MaxRedirects = 5;
    private static readonly SpiffeTlsOptions NoResumption = new() { AllowTlsResume = false };

    private readonly FederationRelationship _relationship;
    private readonly FederatedBundleSourceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Action _onChanged;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SocketsHttpHandler? _webHandler;
    private readonly ITimer _timer;
    private volatile SpiffeBundle? _current;
    private bool _currentOwned;
    private SpiffeBundle? _retired;
    private string? _etag;
    private bool _disposed;

    internal BundleEndpointPoller(FederationRelationship relationship, FederatedBundleSourceOptions options, ILogger logger, Action onChanged)
    {
        _relationship = relationship;
        _options = options;
        _timeProvider = options.TimeProvider!;
        _logger = logger;
        _onChanged = onChanged;
        if (relationship.Profile == BundleEndpointProfile.HttpsWeb)
        {
            _webHandler = CreateHandler();
            if (relationship.WebTrustRoots is { } roots)
            {
                var policy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    RevocationMode = X509RevocationMode.NoCheck,
                    DisableCertificateDownloads = true,
                };
                policy.CustomTrustStore.AddRange(roots);
                _webHandler.SslOptions.CertificateChainPolicy = policy;
            }
        }
        else if (relationship.BootstrapBundle is { } bootstrap && bootstrap.TrustDomain.Equals(relationship.TrustDomain))
        {
            // Self-serving endpoint: the bootstrap bundle is the trust domain's bundle until the first fetch.
            _current = bootstrap;
        }

        _timer = _timeProvider.CreateTimer(_ => _ = RunScheduledAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    internal TrustDomain TrustDomain => _relationship.TrustDomain!;

    internal SpiffeBundle? Current => _current;

    /// <summary>When the next scheduled fetch is due (for tests).</summary>
    internal DateTimeOffset NextFetchAt { get; private set; }

    internal void Start() => _timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);

    /// <summary>Fetches now; true when the bundle changed.</summary>
    internal async Task<bool> FetchAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bool changed;
            string? failure;
            try
            {
                (changed, failure) = await FetchOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The caller gave up; the schedule goes on.
                _timer.Change(_options.RefreshInterval(_current?.RefreshHint), Timeout.InfiniteTimeSpan);
                throw;
            }

            TimeSpan interval = _options.RefreshInterval(_current?.RefreshHint);
            NextFetchAt = _timeProvider.GetUtcNow() + interval;
            _timer.Change(interval, Timeout.InfiniteTimeSpan);
            Uri url = _relationship.EndpointUrl!;
            if (failure is not null)
            {
                FederationLog.FetchFailed(_logger, TrustDomain.Name, url, interval, failure);
            }
            else if (changed)
            {
                SpiffeBundle bundle = _current!;
                if (_logger.IsEnabled(LogLevel.Information))
                {
                    FederationLog.Fetched(_logger, TrustDomain.Name, url, bundle.Sequence?.ToString(CultureInfo.InvariantCulture) ?? "none", bundle.X509Authorities.Count, bundle.JwtAuthorities.Count, interval);
                }
            }
            else
            {
                FederationLog.Unchanged(_logger, TrustDomain.Name, url, interval);
            }

            if (changed)
            {
                _onChanged();
            }

            return changed;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RunScheduledAsync()
    {
        try
        {
            await FetchAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // Disposed while the timer was due.
        }
    }

    private async Task<(bool Changed, string? Failure)> FetchOnceAsync(CancellationToken cancellationToken)
    {
        SocketsHttpHandler handler;
        bool ownsHandler = false;
        if (_webHandler is not null)
        {
            handler = _webHandler;
        }
        else
        {
            X509Bundle? trust = EndpointTrust();
            if (trust is null || trust.X509Authorities.Count == 0)
            {
                return (false, $"no X.509 bundle of {_relationship.EndpointSpiffeId!.TrustDomain} to authenticate the endpoint server {_relationship.EndpointSpiffeId} with (https_spiffe)");
            }

            // A new handler per fetch: the trusted bundle may have changed since the last one, and
            // SocketsHttpHandler freezes its TLS options after the first request.
            handler = CreateHandler();
            // Every fetch authenticates the server's current SVID with the current bundle: no TLS
            // resumption, whose session (process-wide on Linux, shared by handlers with the same
            // TLS settings) would vouch for a certificate the server presented earlier, possibly
            // under an authority that has since been rotated out. Fetches are minutes apart.
            handler.SslOptions = SpiffeTlsClient.Tls(trust, SpiffeIdAuthorizer.Exact(_relationship.EndpointSpiffeId!), NoResumption)
                .GetOptions(_relationship.EndpointUrl!.IdnHost);
            handler.PooledConnectionLifetime = TimeSpan.Zero;
            ownsHandler = true;
        }

        try
        {
            using var client = new HttpClient(handler, disposeHandler: false) { MaxResponseContentBufferSize = MaxBundleBytes, Timeout = Timeout.InfiniteTimeSpan };
            using var timeout = new CancellationTokenSource(_options.RequestTimeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            using var request = new HttpRequestMessage(HttpMethod.Get, _relationship.EndpointUrl);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            if (_etag is not null && _current is not null && EntityTagHeaderValue.TryParse(_etag, out EntityTagHeaderValue? tag))
            {
                request.Headers.IfNoneMatch.Add(tag);
            }

            byte[] body;
            string? etag;
            try
            {
                using HttpResponseMessage response = await client.SendAsync(request, linked.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotModified && _current is not null)
                {
                    return (false, null);
                }

                if (!response.IsSuccessStatusCode)
                {
                    return (false, string.Create(CultureInfo.InvariantCulture, $"the endpoint answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}"));
                }

                etag = response.Headers.ETag?.ToString();
                body = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return (false, string.Create(CultureInfo.InvariantCulture, $"no answer within {_options.RequestTimeout.TotalSeconds:0.###} s"));
            }
            catch (HttpRequestException e)
            {
                return (false, $"the request failed: {Describe(e)}");
            }

            SpiffeBundle fetched;
            try
            {
                fetched = SpiffeBundle.Parse(TrustDomain, body);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                return (false, $"the answer is not a SPIFFE bundle: {e.Message}");
            }

            return Accept(fetched, etag);
        }
        finally
        {
            if (ownsHandler)
            {
                handler.Dispose();
            }
        }
    }

    private (bool Changed, string? Failure) Accept(SpiffeBundle fetched, string? etag)
    {
        SpiffeBundle? current = _current;
        if (current?.Sequence is long currentSequence && fetched.Sequence is long fetchedSequence)
        {
            if (fetchedSequence < currentSequence)
            {
                fetched.Dispose();
                return (false, string.Create(CultureInfo.InvariantCulture, $"the bundle has spiffe_sequence {fetchedSequence}, older than the {currentSequence} already held; a bundle never goes back to an older sequence"));
            }

            if (fetchedSequence == currentSequence && _currentOwned)
            {
                fetched.Dispose();
                _etag = etag;
                return (false, null);
            }
        }

        if (_relationship.Profile == BundleEndpointProfile.HttpsSpiffe && IsSelfServing && fetched.X509Authorities.Count == 0)
        {
            // The next fetch could not authenticate the endpoint with it.
            fetched.Dispose();
            return (false, "the bundle has no X.509 authority, so it could not authenticate the endpoint server on the next fetch (https_spiffe)");
        }

        // The bundle replaced now is released one change later: a handshake that read it can finish.
        if (_retired is not null)
        {
            _retired.Dispose();
        }

        _retired = _currentOwned ? current : null;
        _current = fetched;
        _currentOwned = true;
        _etag = etag;
        return (true, null);
    }

    private bool IsSelfServing => _relationship.EndpointSpiffeId!.TrustDomain.Equals(TrustDomain);

    /// <summary>The bundle that authenticates the https_spiffe endpoint server now (§5.2.2.4).</summary>
    private X509Bundle? EndpointTrust()
    {
        TrustDomain serverTrustDomain = _relationship.EndpointSpiffeId!.TrustDomain;
        if (IsSelfServing)
        {
            // The latest bundle fetched (or the bootstrap one before the first fetch).
            return _current?.GetX509Bundle(serverTrustDomain) ?? _relationship.BootstrapBundle?.GetX509Bundle(serverTrustDomain);
        }

        return _relationship.EndpointBundleSource?.GetX509Bundle(serverTrustDomain) ?? _relationship.BootstrapBundle?.GetX509Bundle(serverTrustDomain);
    }

    private static SocketsHttpHandler CreateHandler() => new()
    {
        // Redirects are followed with the same TLS checks (the handler's options), never from
        // https to http, and never remembered: every fetch starts at the configured URL (§5.2.1.4).
        AllowAutoRedirect = true,
        MaxAutomaticRedirections = MaxRedirects,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        UseCookies = false,
        UseProxy = true,
    };

    private static string Describe(HttpRequestException e)
    {
        string message = e.Message;
        for (Exception? inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += " " + inner.Message;
        }

        return message;
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await _timer.DisposeAsync().ConfigureAwait(false);
            _webHandler?.Dispose();
            _retired?.Dispose();
            if (_currentOwned)
            {
                _current?.Dispose();
            }

            _current = null;
        }
        finally
        {
            _gate.Release();
        }
    }
}

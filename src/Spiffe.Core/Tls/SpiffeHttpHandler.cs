using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.Tls;

/// <summary>
/// An <see cref="HttpMessageHandler"/> for mutual TLS with SPIFFE: every new connection presents
/// the source's current X509-SVID with its intermediates and accepts only a server SVID that
/// chains to the bundle of the server's own trust domain and whose SPIFFE ID the authorizer allows.
/// Thread-safe; use one instance per application (or per authorizer), like an
/// <see cref="HttpClient"/>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="SocketsHttpHandler"/> freezes its <see cref="SocketsHttpHandler.SslOptions"/> after
/// the first request and its pooled connections keep the certificate they were opened with, so
/// this handler holds a current inner <see cref="SocketsHttpHandler"/> built for one SVID and
/// bundle set. When the source hands out a different <see cref="X509Svid"/> instance (or the
/// bundles change), the next request builds a new inner handler, so new connections present the
/// new SVID, while requests already running finish on the old one. A retired inner handler is
/// disposed after <see cref="SpiffeHttpHandlerOptions.DrainPeriod"/> once no request is running
/// on it; at most eight are kept (the oldest is disposed beyond that).
/// Pooled connections live at most <see cref="SpiffeHttpHandlerOptions.PooledConnectionLifetime"/>
/// (5 minutes or less) and at most a quarter of the validity period of the SVID the inner handler
/// presents (an agent issues its peers SVIDs of the same lifetime and rotates them at about half
/// of it), so a connection never keeps a peer's certificate for long after that peer rotated.
/// </para>
/// <para>
/// With an <c>X509Source</c> (which is both sources):
/// <code>
/// using var http = new HttpClient(new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(backendId)));
/// </code>
/// gRPC (Grpc.Net.Client), one line:
/// <code>
/// using var channel = GrpcChannel.ForAddress("https://backend:8443", new GrpcChannelOptions { HttpHandler = new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(backendId)) });
/// </code>
/// With IHttpClientFactory, <c>UseSpiffeMtls</c> (Spiffe.WorkloadApi) makes the handler the
/// primary handler and turns the factory's own handler rotation off (this handler rotates itself):
/// <c>services.AddHttpClient("backend").UseSpiffeMtls(sp =&gt; sp.GetRequiredService&lt;X509Source&gt;(), SpiffeIdAuthorizer.Exact(backendId))</c>.
/// </para>
/// <para>
/// Failures surface as <see cref="HttpRequestException"/>: no SVID yet (the inner exception is the
/// source's <see cref="SpiffeException"/>); this side refused the server (the message says whether
/// its certificate failed chain validation, was not an X509-SVID, or had a SPIFFE ID the authorizer
/// does not allow; each connection's own refusal, never another connection's); or the server closed the connection the request had just opened, right after
/// the TLS handshake, which is how a SPIFFE server refuses a client it does not authorize (the
/// message names the SPIFFE ID presented; the inner exception is an <see cref="IOException"/>, so
/// gRPC reports <c>Unavailable</c>). All three carry
/// <see cref="HttpRequestError.SecureConnectionError"/>.
/// </para>
/// </remarks>
public sealed class SpiffeHttpHandler : HttpMessageHandler
{
    // How many retired inner handlers are kept draining at most; beyond that the oldest is disposed at once.
    internal const int MaxRetiredHandlers = 8;

    // Building a handler for an SVID the source releases meanwhile fails; bounded retries with a fresh read.
    private const int ReleasedSvidAttempts = 3;

    // In-flight counter value of a disposed generation; far enough from int.MinValue that late decrements cannot wrap.
    private const int Disposed = int.MinValue / 2;

    // Floor for SVIDs of a few seconds (tests, demos): reuse a connection for at least this long.
    private static readonly TimeSpan MinConnectionLifetime = TimeSpan.FromSeconds(1);

    // Set on the request that opened a connection once TLS is up and this side accepted the server.
    private static readonly HttpRequestOptionsKey<bool> s_openedConnection = new("Spiffe.Tls.SpiffeHttpHandler.OpenedConnection");

    private readonly IX509SvidSource _svidSource;
    private readonly SpiffeTlsClient _tlsClient;
    private readonly SpiffeHttpHandlerOptions _options;
    private readonly Lock _lock = new();
    private readonly List<Generation> _retired = [];
    private volatile Generation? _current;
    private int _handlersCreated;
    private int _handlersDisposed;
    private bool _disposed;

    /// <summary>Creates a handler that presents the SVID of <paramref name="svidSource"/> and requires a server SVID allowed by <paramref name="authorizer"/>.</summary>
    /// <param name="svidSource">The client's SVID (an <c>X509Source</c>).</param>
    /// <param name="bundleSource">The bundles that authenticate servers, own and federated (an <c>X509Source</c>).</param>
    /// <param name="authorizer">Which server SPIFFE IDs are allowed; required.</param>
    /// <param name="options">Connection lifetime, drain period and TLS settings; defaults when null.</param>
    /// <exception cref="ArgumentNullException">A source or the authorizer is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public SpiffeHttpHandler(IX509SvidSource svidSource, IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, SpiffeHttpHandlerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(svidSource);
        ArgumentNullException.ThrowIfNull(bundleSource);
        ArgumentNullException.ThrowIfNull(authorizer);
        _options = SpiffeHttpHandlerOptions.Validate(options, nameof(options));
        _svidSource = svidSource;
        _tlsClient = SpiffeTlsClient.MutualTls(svidSource, bundleSource, authorizer, _options.Tls);
    }

    /// <summary>Inner handlers built so far (one per SVID or bundle change that saw a request).</summary>
    internal int HandlersCreated => Volatile.Read(ref _handlersCreated);

    /// <summary>Inner handlers disposed so far (retired and drained, or disposed with this handler).</summary>
    internal int HandlersDisposed => Volatile.Read(ref _handlersDisposed);

    /// <summary>The pooled-connection lifetime of the current inner handler (null before the first request).</summary>
    internal TimeSpan? CurrentConnectionLifetime => _current?.Handler.PooledConnectionLifetime;

    /// <summary>Retired inner handlers not yet disposed.</summary>
    internal int RetiredCount
    {
        get
        {
            lock (_lock)
            {
                return _retired.Count;
            }
        }
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Generation generation = Acquire();
        try
        {
            return await generation.Invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException exception) when (Explain(request, exception, generation.Svid) is { } explained)
        {
            throw explained;
        }
        finally
        {
            Interlocked.Decrement(ref generation.InFlight);
        }
    }

    /// <inheritdoc />
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Generation generation = Acquire();
        try
        {
            return generation.Invoker.Send(request, cancellationToken);
        }
        catch (HttpRequestException exception) when (Explain(request, exception, generation.Svid) is { } explained)
        {
            throw explained;
        }
        finally
        {
            Interlocked.Decrement(ref generation.InFlight);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            List<Generation> all;
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                all = [.. _retired];
                _retired.Clear();
                if (_current is { } current)
                {
                    all.Add(current);
                }

                _current = null;
            }

            foreach (Generation generation in all)
            {
                DisposeGeneration(generation);
            }
        }

        base.Dispose(disposing);
    }

    // Returns the generation for the current SVID and bundles with its in-flight count incremented.
    private Generation Acquire()
    {
        for (int attempt = 1; ; attempt++)
        {
            X509Svid svid;
            try
            {
                svid = _svidSource.GetX509Svid() ?? throw new SpiffeException("The X509-SVID source returned no SVID.");
            }
            catch (SpiffeException exception)
            {
                throw new HttpRequestException(HttpRequestError.SecureConnectionError, $"No X509-SVID to present: {exception.Message}", exception);
            }

            X509ChainPolicy? policy = _tlsClient.GetCurrentChainPolicy();
            Generation? generation = _current;
            if (generation is null || !ReferenceEquals(generation.Svid, svid) || !ReferenceEquals(generation.Policy, policy))
            {
                try
                {
                    generation = Replace(svid, policy);
                }
                catch (Exception e) when (e is ObjectDisposedException or CryptographicException && attempt < ReleasedSvidAttempts && !ReferenceEquals(SafeGetSvid(), svid))
                {
                    // The source released this SVID while the handler was being built (two updates
                    // since the read, e.g. a thread paused under load; seen in benchmarks/Spiffe.Soak):
                    // the next read gets the newest one.
                    continue;
                }
            }

            if (TryEnter(generation))
            {
                return generation;
            }

            // Disposed between the read and the increment (only when forced out or on Dispose): retry.
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        }
    }

    private X509Svid? SafeGetSvid()
    {
        try
        {
            return _svidSource.GetX509Svid();
        }
        catch (SpiffeException)
        {
            return null;
        }
    }

    private static bool TryEnter(Generation generation)
    {
        int count = Volatile.Read(ref generation.InFlight);
        while (count >= 0)
        {
            int seen = Interlocked.CompareExchange(ref generation.InFlight, count + 1, count);
            if (seen == count)
            {
                return true;
            }

            count = seen;
        }

        return false;
    }

    private Generation Replace(X509Svid svid, X509ChainPolicy? policy)
    {
        Generation? forced = null;
        Generation created;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Generation? current = _current;
            if (current is not null && ReferenceEquals(current.Svid, svid) && ReferenceEquals(current.Policy, policy))
            {
                return current; // another request replaced it first
            }

            created = Create(svid);
            if (current is not null)
            {
                _retired.Add(current);
                current.DrainTimer = _options.TimeProvider.CreateTimer(static state => ((State)state!).Handler.TryDrain(((State)state!).Generation), new State(this, current), _options.DrainPeriod, Timeout.InfiniteTimeSpan);
                if (_retired.Count > MaxRetiredHandlers)
                {
                    forced = _retired[0];
                    _retired.RemoveAt(0);
                }
            }

            _current = created;
        }

        if (forced is not null)
        {
            DisposeGeneration(forced);
        }

        return created;
    }

    private Generation Create(X509Svid svid)
    {
        // GetOptions reads the source again; if it moved on meanwhile, the next request sees a
        // different SVID than the one recorded here and builds again.
        SslClientAuthenticationOptions ssl = _tlsClient.GetOptions("spiffe");
        ssl.TargetHost = null; // SocketsHttpHandler sets the request's host (SNI) per connection pool.
        PeerSvidVerifier verifier = _tlsClient.ServerVerifier!;

        // A refusal travels with this connection's own failure: SslStream lets the callback's
        // exception out as is, and SocketsHttpHandler makes it the inner exception of the
        // request's HttpRequestException (see Explain). No state is shared between connections.
        ssl.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
            verifier.Verify(certificate, chain, errors, (sender as SslStream)?.TargetHostName, out _, out TlsRefusal? refusal)
                ? true
                : throw new ServerRefusedException(refusal);

        var handler = new SocketsHttpHandler();
        _options.ConfigureHandler?.Invoke(handler);
        handler.SslOptions = ssl;

        // Runs once per connection, after the TLS handshake this side accepted: marks the request
        // that opened it, so a server closing it straight away can be explained (see Explain).
        Func<SocketsHttpPlaintextStreamFilterContext, CancellationToken, ValueTask<Stream>>? configuredFilter = handler.PlaintextStreamFilter;
        handler.PlaintextStreamFilter = (context, cancellationToken) =>
        {
            context.InitialRequestMessage.Options.Set(s_openedConnection, true);
            return configuredFilter is null ? ValueTask.FromResult(context.PlaintextStream) : configuredFilter(context, cancellationToken);
        };
        handler.PooledConnectionLifetime = ConnectionLifetimeFor(svid, _options.PooledConnectionLifetime);
        Interlocked.Increment(ref _handlersCreated);
        return new Generation(svid, ssl.CertificateChainPolicy, handler);
    }

    /// <summary>The configured lifetime, or a quarter of the SVID's validity period when that is shorter (at least 1 s).</summary>
    internal static TimeSpan ConnectionLifetimeFor(X509Svid svid, TimeSpan configured)
    {
        TimeSpan quarter = (svid.ExpiresAt - new DateTimeOffset(svid.Certificate.NotBefore)) / 4;
        if (quarter >= configured)
        {
            return configured;
        }

        return quarter > MinConnectionLifetime ? quarter : MinConnectionLifetime;
    }

    private void TryDrain(Generation generation)
    {
        lock (_lock)
        {
            if (!_retired.Contains(generation))
            {
                return; // already disposed (forced out or with this handler)
            }

            if (Interlocked.CompareExchange(ref generation.InFlight, Disposed, 0) != 0)
            {
                // Requests still running: look again shortly.
                generation.DrainTimer?.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
                return;
            }

            _retired.Remove(generation);
        }

        DisposeGeneration(generation);
    }

    private void DisposeGeneration(Generation generation)
    {
        Volatile.Write(ref generation.InFlight, Disposed);
        generation.Dispose();
        Interlocked.Increment(ref _handlersDisposed);
    }

    // Two refusals look like plain connection failures without the SDK's knowledge:
    // - this side refused the server (AuthenticationException): say why, from the validation callback;
    // - the server refused this side: with TLS 1.3 the client finishes its handshake before the
    //   server checks the client certificate, so a refused client sees only the connection close
    //   ("response ended prematurely", "did not complete the HTTP/2 handshake"). If the failing
    //   request is the one that opened the connection, say what a SPIFFE server means by that. The
    //   IOException keeps gRPC's status stable (Unavailable) whichever way SocketsHttpHandler
    //   noticed the close.
    private static HttpRequestException? Explain(HttpRequestMessage request, HttpRequestException exception, X509Svid presented)
    {
        string host = request.RequestUri?.IdnHost ?? "(no host)";
        if (exception.InnerException is ServerRefusedException refused)
        {
            return new HttpRequestException(HttpRequestError.SecureConnectionError, $"The TLS connection to {host} was refused: {refused.Message}.", exception);
        }

        if (exception.InnerException is AuthenticationException)
        {
            return null;
        }

        if (!request.Options.TryGetValue(s_openedConnection, out bool opened) || !opened || HasProtocolError(exception))
        {
            return null; // a reused connection, or the server spoke HTTP (a protocol error is its answer)
        }

        return new HttpRequestException(
            HttpRequestError.SecureConnectionError,
            $"The server {host} closed the connection right after the TLS handshake, before answering. A SPIFFE mutual TLS server does this when its authorizer does not allow this workload's SPIFFE ID {presented.Id} (or its bundles do not trust this SVID's CA): check the server's authorizer and its logs. ({exception.Message})",
            new IOException(exception.Message, exception));
    }

    private static bool HasProtocolError(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException)
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Generation(X509Svid svid, X509ChainPolicy? policy, SocketsHttpHandler handler) : IDisposable
    {
        public readonly X509Svid Svid = svid;
        public readonly X509ChainPolicy? Policy = policy;
        public readonly SocketsHttpHandler Handler = handler;
        public readonly HttpMessageInvoker Invoker = new(handler, disposeHandler: false);
        public int InFlight;
        public ITimer? DrainTimer;

        public void Dispose()
        {
            DrainTimer?.Dispose();
            Invoker.Dispose();
            Handler.Dispose();
        }
    }

    private sealed record State(SpiffeHttpHandler Handler, Generation Generation);

    /// <summary>This side refused the server's certificate: thrown from the validation callback so the reason stays with the connection.</summary>
    private sealed class ServerRefusedException(TlsRefusal refusal) : AuthenticationException(Describe(refusal))
    {
        private static string Describe(TlsRefusal refusal) => refusal.Reason switch
        {
            TlsRefusalReason.NoCertificate => "the server presented no certificate",
            TlsRefusalReason.NotAnSvid => $"the server certificate is not an X509-SVID ({refusal.Detail})",
            TlsRefusalReason.NotAuthorized => $"the server SPIFFE ID {refusal.PresentedId} is not authorized",
            TlsRefusalReason.NoBundle => $"the server SVID {refusal.PresentedId} {refusal.Detail}",
            _ => $"the server certificate failed chain validation: the server SVID {refusal.PresentedId} {refusal.Detail}",
        };
    }
}

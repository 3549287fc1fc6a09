using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.Tls;

/// <summary>
/// Produces <see cref="SslServerAuthenticationOptions"/> for a TLS server that presents the
/// source's current X509-SVID (with its intermediates) and, for mutual TLS, authenticates the
/// client's X509-SVID with the bundle of the client's own trust domain and then authorizes its
/// SPIFFE ID. Thread-safe; rotation of the SVID or the bundles applies to the next handshake.
/// </summary>
/// <remarks>
/// Ask for options per connection, through <see cref="OptionsSelectionCallback"/> or
/// <see cref="GetOptions()"/>. The certificate context and chain policy inside are cached and
/// rebuilt only when the source hands out a new SVID or bundle set; the callback also hands every
/// handshake the same options object until then.
/// <code>
/// var server = SpiffeTlsServer.MutualTls(source, source, SpiffeIdAuthorizer.Exact(frontendId));
/// await sslStream.AuthenticateAsServerAsync(server.OptionsSelectionCallback, null, cancellationToken);
/// SpiffeId caller = sslStream.GetRemoteSpiffeId();
/// </code>
/// </remarks>
public sealed class SpiffeTlsServer
{
    private readonly CertificateContextCache? _svidContext;
    private readonly SslStreamCertificateContext? _fixedContext;
    private readonly PeerSvidVerifier? _clientVerifier;
    private readonly SpiffeTlsOptions _options;
    private volatile SslServerAuthenticationOptions? _shared;

    private SpiffeTlsServer(CertificateContextCache? svidContext, SslStreamCertificateContext? fixedContext, PeerSvidVerifier? clientVerifier, SpiffeTlsOptions options)
    {
        _svidContext = svidContext;
        _fixedContext = fixedContext;
        _clientVerifier = clientVerifier;
        _options = options;
        OptionsSelectionCallback = (_, _, _, _) => ValueTask.FromResult(GetSharedOptions());
    }

    /// <summary>
    /// For <c>SslStream.AuthenticateAsServerAsync(ServerOptionsSelectionCallback, object?, CancellationToken)</c>:
    /// the options of <see cref="GetOptions()"/>, as one object shared by every handshake until the
    /// SVID or the bundles change (SslStream only reads it). A caller that modifies the options
    /// (ALPN, say) must use <see cref="GetOptions()"/>, which returns a new object each time.
    /// </summary>
    public ServerOptionsSelectionCallback OptionsSelectionCallback { get; }

    /// <summary>Mutual TLS: the server presents its SVID and requires a client SVID allowed by <paramref name="authorizer"/>.</summary>
    /// <param name="svidSource">The server's SVID (an <c>X509Source</c>).</param>
    /// <param name="bundleSource">The bundles that authenticate clients, own and federated (an <c>X509Source</c>, an <see cref="X509BundleSet"/>).</param>
    /// <param name="authorizer">Which client IDs are allowed; required (there is no default, and <see cref="SpiffeIdAuthorizer.Any"/> must be explicit).</param>
    /// <param name="options">TLS settings; defaults when null.</param>
    /// <exception cref="ArgumentNullException">A source or the authorizer is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static SpiffeTlsServer MutualTls(IX509SvidSource svidSource, IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(svidSource);
        ArgumentNullException.ThrowIfNull(bundleSource);
        ArgumentNullException.ThrowIfNull(authorizer);
        SpiffeTlsOptions validated = SpiffeTlsOptions.Validate(options, nameof(options));
        return new SpiffeTlsServer(new CertificateContextCache(svidSource), null, new PeerSvidVerifier(bundleSource, authorizer, new TlsHandshakeTelemetry("server", validated), validated.AllowTlsResume), validated);
    }

    /// <summary>
    /// Server-authenticated TLS: the server presents its SVID and asks no client certificate
    /// (clients authenticate some other way, e.g. with a JWT-SVID).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="svidSource"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static SpiffeTlsServer Tls(IX509SvidSource svidSource, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(svidSource);
        return new SpiffeTlsServer(new CertificateContextCache(svidSource), null, null, SpiffeTlsOptions.Validate(options, nameof(options)));
    }

    /// <summary>
    /// Mutual TLS where the server presents a web PKI certificate (its own chain, e.g. from a
    /// public CA) and requires a client SVID allowed by <paramref name="authorizer"/>.
    /// </summary>
    /// <param name="serverCertificate">The server's certificate context; build it with <c>SslStreamCertificateContext.Create(leaf, intermediates, offline: true)</c>.</param>
    /// <param name="bundleSource">The bundles that authenticate clients.</param>
    /// <param name="authorizer">Which client IDs are allowed; required.</param>
    /// <param name="options">TLS settings; defaults when null.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static SpiffeTlsServer MutualTlsWithWebCertificate(SslStreamCertificateContext serverCertificate, IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(serverCertificate);
        ArgumentNullException.ThrowIfNull(bundleSource);
        ArgumentNullException.ThrowIfNull(authorizer);
        SpiffeTlsOptions validated = SpiffeTlsOptions.Validate(options, nameof(options));
        return new SpiffeTlsServer(null, serverCertificate, new PeerSvidVerifier(bundleSource, authorizer, new TlsHandshakeTelemetry("server", validated), validated.AllowTlsResume), validated);
    }

    /// <summary>
    /// Options for one handshake with the current SVID and bundles. A new object on every call
    /// (callers such as Kestrel may fill in ALPN), sharing the cached certificate context and chain policy.
    /// </summary>
    /// <exception cref="SpiffeException">The source has no SVID yet (or no longer has one); the handshake should fail, not wait.</exception>
    public SslServerAuthenticationOptions GetOptions() =>
        Build(_fixedContext ?? _svidContext!.GetCurrent(), _clientVerifier?.GetChainPolicy());

    /// <summary>
    /// Options for one handshake, like <see cref="GetOptions()"/>, that also report the client this
    /// handshake authenticated and authorized: <paramref name="clientVerified"/> is called from the
    /// certificate validation callback with the client's SPIFFE ID and leaf (owned by the
    /// <c>SslStream</c>) when, and only when, the client is accepted (resumed sessions included).
    /// Use it to record the verified identity on the connection (Spiffe.AspNetCore does) instead of
    /// reading the certificate again.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="clientVerified"/> is null.</exception>
    /// <exception cref="InvalidOperationException">This server does not authenticate clients (made by <see cref="Tls"/>).</exception>
    /// <exception cref="SpiffeException">The source has no SVID yet (or no longer has one).</exception>
    public SslServerAuthenticationOptions GetOptions(Action<SpiffeId, X509Certificate2> clientVerified) => GetOptions(clientVerified, null);

    /// <summary>
    /// Options for one handshake, like <see cref="GetOptions(Action{SpiffeId, X509Certificate2})"/>, for a
    /// connection from <paramref name="remoteEndPoint"/>: a refused client is logged with that address
    /// (<see cref="SpiffeTlsOptions.LoggerFactory"/>).
    /// </summary>
    /// <param name="clientVerified">Called with the accepted client's SPIFFE ID and leaf.</param>
    /// <param name="remoteEndPoint">The client's address, for the refusal log; null when unknown.</param>
    /// <exception cref="ArgumentNullException"><paramref name="clientVerified"/> is null.</exception>
    /// <exception cref="InvalidOperationException">This server does not authenticate clients (made by <see cref="Tls"/>).</exception>
    /// <exception cref="SpiffeException">The source has no SVID yet (or no longer has one).</exception>
    public SslServerAuthenticationOptions GetOptions(Action<SpiffeId, X509Certificate2> clientVerified, EndPoint? remoteEndPoint)
    {
        ArgumentNullException.ThrowIfNull(clientVerified);
        PeerSvidVerifier verifier = _clientVerifier ?? throw new InvalidOperationException("This TLS server does not authenticate clients: it was made by SpiffeTlsServer.Tls. Use MutualTls to require client SVIDs.");
        SslServerAuthenticationOptions options = GetOptions();
        string? peer = remoteEndPoint?.ToString();
        options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
        {
            if (!verifier.Verify(certificate, chain, errors, peer, out SpiffeId? id, out TlsRefusal? _))
            {
                return false;
            }

            // SslStream hands out X509Certificate2 on .NET; the fallback keeps the contract if that changes.
            clientVerified(id, certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData()));
            return true;
        };
        return options;
    }

    /// <summary>The client verifier (tests).</summary>
    internal PeerSvidVerifier? ClientVerifier => _clientVerifier;

    // Rebuilt only when the context or the chain policy is a new instance (an SVID or bundle change).
    private SslServerAuthenticationOptions GetSharedOptions()
    {
        SslStreamCertificateContext context = _fixedContext ?? _svidContext!.GetCurrent();
        X509ChainPolicy? policy = _clientVerifier?.GetChainPolicy();
        SslServerAuthenticationOptions? shared = _shared;
        if (shared is not null && ReferenceEquals(shared.ServerCertificateContext, context) && ReferenceEquals(shared.CertificateChainPolicy, policy))
        {
            return shared;
        }

        shared = Build(context, policy);
        _shared = shared;
        return shared;
    }

    private SslServerAuthenticationOptions Build(SslStreamCertificateContext context, X509ChainPolicy? policy)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = context,
            EnabledSslProtocols = _options.EnabledSslProtocols,
            AllowTlsResume = _options.AllowTlsResume,
            ApplicationProtocols = _options.CopyApplicationProtocols(),
        };
        if (_clientVerifier is not null)
        {
            options.ClientCertificateRequired = true;
            options.CertificateChainPolicy = policy;
            options.RemoteCertificateValidationCallback = _clientVerifier.Callback;
        }

        return options;
    }
}

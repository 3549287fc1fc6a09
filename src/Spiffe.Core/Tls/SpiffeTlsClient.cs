using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.Tls;

/// <summary>
/// Produces <see cref="SslClientAuthenticationOptions"/> for a TLS client that authenticates the
/// server's X509-SVID with the bundle of the server's own trust domain and authorizes its SPIFFE
/// ID, and, for mutual TLS, presents the source's current X509-SVID with its intermediates.
/// Thread-safe; rotation of the SVID or the bundles applies to the next handshake.
/// </summary>
/// <remarks>
/// <code>
/// var client = SpiffeTlsClient.MutualTls(source, source, SpiffeIdAuthorizer.Exact(backendId));
/// await sslStream.AuthenticateAsClientAsync(client.GetOptions("backend.internal"), cancellationToken);
/// </code>
/// </remarks>
public sealed class SpiffeTlsClient
{
    private readonly CertificateContextCache? _svidContext;
    private readonly PeerSvidVerifier? _serverVerifier;
    private readonly X509ChainPolicy? _webTrust;
    private readonly SpiffeTlsOptions _options;

    private SpiffeTlsClient(CertificateContextCache? svidContext, PeerSvidVerifier? serverVerifier, X509ChainPolicy? webTrust, SpiffeTlsOptions options)
    {
        _svidContext = svidContext;
        _serverVerifier = serverVerifier;
        _webTrust = webTrust;
        _options = options;
    }

    /// <summary>Mutual TLS: the client presents its SVID and requires a server SVID allowed by <paramref name="authorizer"/>.</summary>
    /// <param name="svidSource">The client's SVID (an <c>X509Source</c>).</param>
    /// <param name="bundleSource">The bundles that authenticate servers, own and federated.</param>
    /// <param name="authorizer">Which server IDs are allowed; required.</param>
    /// <param name="options">TLS settings; defaults when null.</param>
    /// <exception cref="ArgumentNullException">A source or the authorizer is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static SpiffeTlsClient MutualTls(IX509SvidSource svidSource, IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(svidSource);
        ArgumentNullException.ThrowIfNull(bundleSource);
        ArgumentNullException.ThrowIfNull(authorizer);
        SpiffeTlsOptions validated = SpiffeTlsOptions.Validate(options, nameof(options));
        return new SpiffeTlsClient(new CertificateContextCache(svidSource), new PeerSvidVerifier(bundleSource, authorizer, new TlsHandshakeTelemetry("client", validated), validated.AllowTlsResume), null, validated);
    }

    /// <summary>Server-authenticated TLS: the client presents no certificate and requires a server SVID allowed by <paramref name="authorizer"/>.</summary>
    /// <exception cref="ArgumentNullException">The source or the authorizer is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static SpiffeTlsClient Tls(IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bundleSource);
        ArgumentNullException.ThrowIfNull(authorizer);
        SpiffeTlsOptions validated = SpiffeTlsOptions.Validate(options, nameof(options));
        return new SpiffeTlsClient(null, new PeerSvidVerifier(bundleSource, authorizer, new TlsHandshakeTelemetry("client", validated), validated.AllowTlsResume), null, validated);
    }

    /// <summary>
    /// Mutual TLS with a web PKI server: the client presents its SVID and validates the server the
    /// usual way (host name and chain), against the system roots or <paramref name="webTrust"/>.
    /// </summary>
    /// <param name="svidSource">The client's SVID.</param>
    /// <param name="webTrust">A chain policy for the server's certificate (e.g. custom roots); null uses the system trust store.</param>
    /// <param name="options">TLS settings; defaults when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="svidSource"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static SpiffeTlsClient MutualTlsToWebServer(IX509SvidSource svidSource, X509ChainPolicy? webTrust = null, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(svidSource);
        return new SpiffeTlsClient(new CertificateContextCache(svidSource), null, webTrust?.Clone(), SpiffeTlsOptions.Validate(options, nameof(options)));
    }

    /// <summary>
    /// Options for one handshake with the current SVID and bundles: a new object on every call,
    /// sharing the cached certificate context and chain policy.
    /// </summary>
    /// <param name="targetHost">The server name sent as SNI (and checked against a web PKI certificate); SVIDs are authorized by SPIFFE ID, not by this name.</param>
    /// <exception cref="SpiffeException">The source has no SVID yet (or no longer has one); the handshake should fail, not wait.</exception>
    public SslClientAuthenticationOptions GetOptions(string targetHost)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetHost);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            ClientCertificateContext = _svidContext?.GetCurrent(),
            EnabledSslProtocols = _options.EnabledSslProtocols,
            AllowTlsResume = _options.AllowTlsResume,
            ApplicationProtocols = _options.CopyApplicationProtocols(),
        };
        if (_serverVerifier is not null)
        {
            options.CertificateChainPolicy = _serverVerifier.GetChainPolicy();
            options.RemoteCertificateValidationCallback = _serverVerifier.Callback;
        }
        else if (_webTrust is not null)
        {
            options.CertificateChainPolicy = _webTrust;
        }

        return options;
    }

    /// <summary>The server verifier (null without SPIFFE server authentication).</summary>
    internal PeerSvidVerifier? ServerVerifier => _serverVerifier;

    /// <summary>The chain policy the next handshake would use (null without SPIFFE server authentication); a new instance means the bundles changed.</summary>
    internal X509ChainPolicy? GetCurrentChainPolicy() => _serverVerifier?.GetChainPolicy() ?? _webTrust;
}

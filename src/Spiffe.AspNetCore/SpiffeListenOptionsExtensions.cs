using System.Diagnostics.Metrics;
using System.Net.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore.Audit;
using Spiffe.Bundles;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.AspNetCore;

/// <summary>Kestrel endpoints that authenticate with the workload's rotating X509-SVID.</summary>
/// <remarks>
/// <code>
/// await using X509Source source = await X509Source.CreateAsync();
/// builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen =>
///     listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Exact(frontendId))));
/// </code>
/// Each connection gets options from a snapshot rebuilt only when the SVID or bundles change
/// (Kestrel's TlsHandshakeCallbackOptions, "route B" in DOTNET-NOTES §2.3): the intermediates are
/// sent and no chain is built per connection for the server certificate (dotnet/aspnetcore#46117).
/// Callback-configured TLS does not support HTTP/3 (DOTNET-NOTES §2.9 pitfall 10), so HTTP/3 is
/// removed from the endpoint's protocols (logged once, event 310); the other protocols the endpoint
/// was given are kept. The handshake timeout is <see cref="SpiffeTlsOptions.HandshakeTimeout"/>, or
/// Kestrel's default. Refused clients are logged (Warning, event 300, with the reason, the SPIFFE
/// ID presented and the remote address) and counted (<c>spiffe.tls.handshakes</c>) through the
/// host's <see cref="ILoggerFactory"/> and <see cref="IMeterFactory"/> unless
/// <see cref="SpiffeTlsOptions"/> sets its own. Before the source has an SVID, handshakes fail at once.
/// </remarks>
public static class SpiffeListenOptionsExtensions
{
    /// <summary>
    /// Mutual TLS: present the current SVID and require a client SVID, authenticated with the bundle
    /// of the client's own trust domain and allowed by <paramref name="authorizer"/>.
    /// </summary>
    /// <param name="listenOptions">The Kestrel endpoint.</param>
    /// <param name="svidSource">The server's SVID (an <c>X509Source</c>).</param>
    /// <param name="bundleSource">The bundles that authenticate clients (an <c>X509Source</c>).</param>
    /// <param name="authorizer">Which client IDs may connect; required.</param>
    /// <param name="options">TLS settings; defaults when null.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">The endpoint is HTTP/3 only.</exception>
    public static ListenOptions UseSpiffeMtls(this ListenOptions listenOptions, IX509SvidSource svidSource, IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        SpiffeTlsOptions tls = WithHostTelemetry(listenOptions, options);
        SpiffeTlsServer server = SpiffeTlsServer.MutualTls(svidSource, bundleSource, authorizer, tls);

        // The verified client is recorded on the connection (ISpiffePeerFeature), the only place the
        // caller's SPIFFE ID is read from: never HttpContext.Connection.ClientCertificate, which
        // certificate forwarding or any middleware can set. A resumed session runs the callback too.
        return Use(listenOptions, tls.HandshakeTimeout, context =>
        {
            IFeatureCollection features = context.Connection.Features;
            return server.GetOptions((id, leaf) => features.Set<ISpiffePeerFeature>(new SpiffePeerFeature(id, leaf)), context.Connection.RemoteEndPoint);
        });
    }

    /// <summary>
    /// Mutual TLS with one source for both the SVID and the bundles (an <c>X509Source</c>):
    /// <c>listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Exact(frontendId))</c>.
    /// </summary>
    /// <remarks>For TLS settings use the overload that takes the two sources and <see cref="SpiffeTlsOptions"/>.</remarks>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">The endpoint is HTTP/3 only.</exception>
    public static ListenOptions UseSpiffeMtls<TSource>(this ListenOptions listenOptions, TSource source, SpiffeIdAuthorizer authorizer)
        where TSource : IX509SvidSource, IX509BundleSetSource
    {
        ArgumentNullException.ThrowIfNull(source);
        return UseSpiffeMtls(listenOptions, source, source, authorizer);
    }

    /// <summary>
    /// Server-authenticated TLS: present the current SVID and ask no client certificate (callers
    /// authenticate another way, e.g. with a JWT-SVID).
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">The endpoint is HTTP/3 only.</exception>
    public static ListenOptions UseSpiffeTls(this ListenOptions listenOptions, IX509SvidSource svidSource, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        SpiffeTlsOptions tls = WithHostTelemetry(listenOptions, options);
        SpiffeTlsServer server = SpiffeTlsServer.Tls(svidSource, tls);
        return Use(listenOptions, tls.HandshakeTimeout, _ => server.GetOptions());
    }

    // The host's logger and meter factories, unless the caller chose its own; and the audit trail.
    private static SpiffeTlsOptions WithHostTelemetry(ListenOptions listenOptions, SpiffeTlsOptions? options)
    {
        SpiffeTlsOptions configured = options ?? new SpiffeTlsOptions();
        IServiceProvider? services = listenOptions.ApplicationServices;
        SpiffeAuditTrail? audit = services?.GetService<SpiffeAuditTrail>();
        if (services is null || (configured.LoggerFactory is not null && configured.MeterFactory is not null && audit is null))
        {
            return configured;
        }

        return new SpiffeTlsOptions
        {
            AllowTlsResume = configured.AllowTlsResume,
            EnabledSslProtocols = configured.EnabledSslProtocols,
            ApplicationProtocols = configured.ApplicationProtocols,
            HandshakeTimeout = configured.HandshakeTimeout,
            LoggerFactory = configured.LoggerFactory ?? services.GetService<ILoggerFactory>(),
            MeterFactory = configured.MeterFactory ?? services.GetService<IMeterFactory>(),

            // AddSpiffeAudit(): refused clients also become audit events (the same refusal the log reports).
            PeerRefused = audit is null ? configured.PeerRefused : configured.PeerRefused + audit.HandshakeRefused,
        };
    }

    private static ListenOptions Use(ListenOptions listenOptions, TimeSpan? handshakeTimeout, Func<TlsHandshakeCallbackContext, SslServerAuthenticationOptions> getOptions)
    {
        HttpProtocols configured = listenOptions.Protocols;
        if ((configured & HttpProtocols.Http3) != 0)
        {
            HttpProtocols used = configured & ~HttpProtocols.Http3;
            if (used == HttpProtocols.None)
            {
                throw new InvalidOperationException($"The Kestrel endpoint {listenOptions} is HTTP/3 only; SPIFFE TLS is configured per connection, which Kestrel supports only for HTTP/1.1 and HTTP/2. Set ListenOptions.Protocols to Http1AndHttp2.");
            }

            listenOptions.Protocols = used;
            ILogger? logger = listenOptions.ApplicationServices?.GetService<ILoggerFactory>()?.CreateLogger("Spiffe.AspNetCore.Kestrel");
            if (logger is not null)
            {
                SpiffeKestrelLog.Http3Removed(logger, listenOptions.ToString() ?? "(unnamed)", configured, used);
            }
        }

        var callbackOptions = new TlsHandshakeCallbackOptions
        {
            // Throws (SpiffeException) before the first SVID: Kestrel fails the handshake instead of waiting.
            OnConnection = context => ValueTask.FromResult(getOptions(context)),
        };
        if (handshakeTimeout is { } timeout)
        {
            callbackOptions.HandshakeTimeout = timeout;
        }

        return listenOptions.UseHttps(callbackOptions);
    }
}

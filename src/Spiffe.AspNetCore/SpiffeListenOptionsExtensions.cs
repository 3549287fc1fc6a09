using System.Net.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
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
/// Callback-configured TLS does not support HTTP/3, so the endpoint is set to HTTP/1.1 and HTTP/2
/// (DOTNET-NOTES §2.9 pitfall 10). Before the source has an SVID, handshakes fail at once.
/// </remarks>
public static class SpiffeListenOptionsExtensions
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(10);

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
    public static ListenOptions UseSpiffeMtls(this ListenOptions listenOptions, IX509SvidSource svidSource, IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        SpiffeTlsServer server = SpiffeTlsServer.MutualTls(svidSource, bundleSource, authorizer, options);

        // The verified client is recorded on the connection (ISpiffePeerFeature), the only place the
        // caller's SPIFFE ID is read from: never HttpContext.Connection.ClientCertificate, which
        // certificate forwarding or any middleware can set.
        return Use(listenOptions, context =>
        {
            IFeatureCollection features = context.Connection.Features;
            return server.GetOptions((id, leaf) => features.Set<ISpiffePeerFeature>(new SpiffePeerFeature(id, leaf)));
        });
    }

    /// <summary>
    /// Mutual TLS with one source for both the SVID and the bundles (an <c>X509Source</c>):
    /// <c>listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Exact(frontendId))</c>.
    /// </summary>
    /// <remarks>For TLS settings use the overload that takes the two sources and <see cref="SpiffeTlsOptions"/>.</remarks>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
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
    public static ListenOptions UseSpiffeTls(this ListenOptions listenOptions, IX509SvidSource svidSource, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        SpiffeTlsServer server = SpiffeTlsServer.Tls(svidSource, options);
        return Use(listenOptions, _ => server.GetOptions());
    }

    private static ListenOptions Use(ListenOptions listenOptions, Func<TlsHandshakeCallbackContext, SslServerAuthenticationOptions> getOptions)
    {
        listenOptions.Protocols = HttpProtocols.Http1AndHttp2;
        return listenOptions.UseHttps(new TlsHandshakeCallbackOptions
        {
            // Throws (SpiffeException) before the first SVID: Kestrel fails the handshake instead of waiting.
            OnConnection = context => ValueTask.FromResult(getOptions(context)),
            HandshakeTimeout = s_handshakeTimeout,
        });
    }
}

using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.AspNetCore.Hosting;
using Spiffe.Tls;
using Spiffe.Bundles;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.AspNetCore;

/// <summary>
/// Kestrel endpoints that take the X.509 source and the peer authorizer from <c>AddSpiffe()</c>:
/// <c>listen.UseSpiffeMtls()</c> admits the peers of <c>Spiffe:Authorization</c>. The source is the
/// registered <see cref="IX509SvidSource"/> and <see cref="IX509BundleSetSource"/>: the <see cref="X509Source"/>,
/// or the <c>FileX509Source</c> when <c>Spiffe:Files:Directory</c> is set.
/// </summary>
/// <remarks>
/// <code>
/// builder.Services.AddSpiffe();
/// builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen => listen.UseSpiffeMtls()));
/// // or endpoints declared under "Kestrel:Endpoints" in configuration:
/// builder.WebHost.ConfigureKestrel((context, k) => k.Configure(context.Configuration.GetSection("Kestrel"))
///     .Endpoint("Mtls", e => e.ListenOptions.UseSpiffeMtls()));
/// </code>
/// The source is the DI singleton, which the host starts before Kestrel accepts connections; if a
/// connection comes before its first SVID (<c>HostOptions.ServicesStartConcurrently</c>, or a degraded
/// start), its handshake fails at once rather than waits.
/// </remarks>
public static class SpiffeConfiguredListenOptionsExtensions
{
    /// <summary>
    /// Mutual TLS with the DI <see cref="X509Source"/>, admitting the clients that <paramref name="authorizer"/>
    /// allows, or, when it is null, those of <c>Spiffe:Authorization</c> (<see cref="SpiffeAuthorizationOptions"/>).
    /// </summary>
    /// <param name="listenOptions">The Kestrel endpoint.</param>
    /// <param name="authorizer">Which client IDs may connect; null to use <c>Spiffe:Authorization</c>.</param>
    /// <param name="options">TLS settings; defaults when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="listenOptions"/> is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// <c>AddSpiffe()</c> was not called, or <paramref name="authorizer"/> is null and <c>Spiffe:Authorization</c>
    /// admits nobody (deny by default: no silent allow-all), or the X.509 source is disabled.
    /// </exception>
    public static ListenOptions UseSpiffeMtls(this ListenOptions listenOptions, SpiffeIdAuthorizer? authorizer = null, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        IServiceProvider services = listenOptions.ApplicationServices;
        SpiffeOptions spiffe = Options(services);
        authorizer ??= SpiffeOptionsValidator.CreateAuthorizer(spiffe.Authorization)
            ?? throw new InvalidOperationException(
                $"listen.UseSpiffeMtls() on {listenOptions} admits nobody: {SpiffeOptions.SectionName}:Authorization has no AllowedIds and no AllowedTrustDomains. " +
                $"Configure who may connect, e.g. \"{SpiffeOptions.SectionName}\": {{ \"Authorization\": {{ \"AllowedIds\": [ \"spiffe://example.org/frontend\" ] }} }} " +
                "or \"AllowedTrustDomains\": [ \"example.org\" ], or pass an authorizer: listen.UseSpiffeMtls(SpiffeIdAuthorizer.MemberOf(trustDomain)).");
        IX509SvidSource svids = services.GetRequiredService<IX509SvidSource>();
        IX509BundleSetSource bundles = services.GetRequiredService<IX509BundleSetSource>();
        Log(services, listenOptions, "mutual TLS", authorizer.ToString());
        return listenOptions.UseSpiffeMtls(svids, bundles, authorizer, options);
    }

    /// <summary>
    /// Server-authenticated TLS with the DI <see cref="X509Source"/>'s SVID; no client certificate is asked
    /// (callers authenticate another way, e.g. with a JWT-SVID).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="listenOptions"/> is null.</exception>
    /// <exception cref="InvalidOperationException"><c>AddSpiffe()</c> was not called, or the X.509 source is disabled.</exception>
    public static ListenOptions UseSpiffeTls(this ListenOptions listenOptions, SpiffeTlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        IServiceProvider services = listenOptions.ApplicationServices;
        _ = Options(services);
        IX509SvidSource source = services.GetRequiredService<IX509SvidSource>();
        Log(services, listenOptions, "TLS", "any client (no client certificate)");
        return listenOptions.UseSpiffeTls(source, options);
    }

    private static SpiffeOptions Options(IServiceProvider services)
    {
        if (services.GetService<SpiffeSourceStarter>() is null)
        {
            throw new InvalidOperationException("listen.UseSpiffeMtls()/UseSpiffeTls() without arguments take the X509Source from DI: call builder.Services.AddSpiffe() first, or pass a source.");
        }

        return services.GetRequiredService<IOptions<SpiffeOptions>>().Value;
    }

    private static void Log(IServiceProvider services, ListenOptions listenOptions, string mode, string authorizer)
    {
        ILogger? logger = services.GetService<ILoggerFactory>()?.CreateLogger(typeof(SpiffeConfiguredListenOptionsExtensions).FullName!);
        if (logger is not null)
        {
            // ListenOptions prints http:// until Kestrel's own UseHttps runs; this endpoint is TLS.
            string endpoint = listenOptions.ToString() ?? "(unnamed)";
            if (endpoint.StartsWith("http://", StringComparison.Ordinal))
            {
                endpoint = "https://" + endpoint["http://".Length..];
            }

            SpiffeHostingLog.EndpointConfigured(logger, endpoint, mode, authorizer);
        }
    }
}

using Microsoft.Extensions.DependencyInjection;
using Spiffe.Bundles;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.WorkloadApi;

/// <summary>
/// <see cref="IHttpClientFactory"/> clients (named, typed, and gRPC clients from
/// <c>AddGrpcClient&lt;T&gt;</c>) over rotating mutual TLS with the workload's X509-SVID.
/// </summary>
/// <remarks>
/// <code>
/// services.AddSingleton(source); // an X509Source the application creates and disposes
/// services.AddHttpClient("backend", c => c.BaseAddress = new Uri("https://backend:8443"))
///     .UseSpiffeMtls(sp => sp.GetRequiredService&lt;X509Source&gt;(), SpiffeIdAuthorizer.Exact(backendId));
/// services.AddGrpcClient&lt;Greeter.GreeterClient&gt;(o => o.Address = new Uri("https://backend:8443"))
///     .UseSpiffeMtls(sp => sp.GetRequiredService&lt;X509Source&gt;(), SpiffeIdAuthorizer.Exact(backendId));
/// </code>
/// <para>
/// Ownership: the factory owns each <see cref="SpiffeHttpHandler"/> it builds and disposes it when
/// it retires it; the handler never disposes its sources, so the <c>X509Source</c> stays with
/// whoever created it (the application, or the DI container if it built the source).
/// </para>
/// <para>
/// Handler lifetime: <see cref="SpiffeHttpHandler"/> already presents a new SVID on new connections
/// after a rotation and recycles pooled connections within 5 minutes, so the factory's own handler
/// rotation (every 2 minutes by default) would only throw away warm connections and TLS sessions.
/// These methods therefore set the handler lifetime to <see cref="Timeout.InfiniteTimeSpan"/>.
/// Calling <c>SetHandlerLifetime</c> afterwards still works: the factory then builds a new
/// <see cref="SpiffeHttpHandler"/> per period and disposes an expired one only after every
/// <see cref="HttpClient"/> created from it is gone, so requests in flight finish.
/// </para>
/// </remarks>
public static class SpiffeHttpClientBuilderExtensions
{
    /// <summary>
    /// Makes a <see cref="SpiffeHttpHandler"/> on one source for both the SVID and the bundles (an
    /// <c>X509Source</c>) the primary handler of the client: every new connection presents the
    /// current SVID, and only servers whose SPIFFE ID <paramref name="authorizer"/> allows are accepted.
    /// </summary>
    /// <typeparam name="TSource">The source type, usually <see cref="X509Source"/>.</typeparam>
    /// <param name="builder">The client builder from <c>AddHttpClient</c> or <c>AddGrpcClient</c>.</param>
    /// <param name="sourceFactory">Returns the source, e.g. <c>sp =&gt; sp.GetRequiredService&lt;X509Source&gt;()</c>; called once per primary handler.</param>
    /// <param name="authorizer">Which server SPIFFE IDs are allowed; required.</param>
    /// <returns>The same builder.</returns>
    /// <remarks>For handler settings (<see cref="SpiffeHttpHandlerOptions"/>) use the overload that takes the two source factories.</remarks>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static IHttpClientBuilder UseSpiffeMtls<TSource>(this IHttpClientBuilder builder, Func<IServiceProvider, TSource> sourceFactory, SpiffeIdAuthorizer authorizer)
        where TSource : IX509SvidSource, IX509BundleSetSource
    {
        ArgumentNullException.ThrowIfNull(sourceFactory);
        return Use(builder, authorizer, null, sp =>
        {
            TSource source = sourceFactory(sp) ?? throw NullSource(builder, "source");
            return (source, source);
        });
    }

    /// <summary>
    /// Makes a <see cref="SpiffeHttpHandler"/> the primary handler of the client, with separate
    /// sources for the client's SVID and for the bundles that authenticate servers.
    /// </summary>
    /// <param name="builder">The client builder from <c>AddHttpClient</c> or <c>AddGrpcClient</c>.</param>
    /// <param name="svidSourceFactory">Returns the client's SVID source; called once per primary handler.</param>
    /// <param name="bundleSourceFactory">Returns the bundle source (own and federated trust domains); called once per primary handler.</param>
    /// <param name="authorizer">Which server SPIFFE IDs are allowed; required.</param>
    /// <param name="options">Connection lifetime, drain period and TLS settings; defaults when null. Invalid options throw when the first client is created.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="options"/> is null.</exception>
    public static IHttpClientBuilder UseSpiffeMtls(this IHttpClientBuilder builder, Func<IServiceProvider, IX509SvidSource> svidSourceFactory, Func<IServiceProvider, IX509BundleSetSource> bundleSourceFactory, SpiffeIdAuthorizer authorizer, SpiffeHttpHandlerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(svidSourceFactory);
        ArgumentNullException.ThrowIfNull(bundleSourceFactory);
        return Use(builder, authorizer, options, sp => (
            svidSourceFactory(sp) ?? throw NullSource(builder, "SVID source"),
            bundleSourceFactory(sp) ?? throw NullSource(builder, "bundle source")));
    }

    private static IHttpClientBuilder Use(IHttpClientBuilder builder, SpiffeIdAuthorizer authorizer, SpiffeHttpHandlerOptions? options, Func<IServiceProvider, (IX509SvidSource Svids, IX509BundleSetSource Bundles)> sources)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authorizer);

        // The factory owns (and disposes) the handler; the handler never owns the sources.
        builder.ConfigurePrimaryHttpMessageHandler(sp =>
        {
            (IX509SvidSource svids, IX509BundleSetSource bundles) = sources(sp);
            return new SpiffeHttpHandler(svids, bundles, authorizer, options);
        });

        // SpiffeHttpHandler rotates its own connections (see the class remarks); the factory's
        // rotation would only discard warm connections and TLS sessions (dotnet/runtime#56975).
        return builder.SetHandlerLifetime(Timeout.InfiniteTimeSpan);
    }

    private static InvalidOperationException NullSource(IHttpClientBuilder builder, string what) =>
        new($"The {what} factory given to UseSpiffeMtls for HttpClient '{builder.Name}' returned null.");
}

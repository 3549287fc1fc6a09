using Spiffe.Bundles;

namespace Spiffe.AspNetCore;

/// <summary>What <see cref="SpiffeBundleEndpointRouteBuilderExtensions.MapSpiffeBundleEndpoint(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder, string, SpiffeBundleEndpointOptions)"/> serves.</summary>
public sealed class SpiffeBundleEndpointOptions
{
    /// <summary>The default <see cref="RefreshHint"/>: 5 minutes.</summary>
    public static readonly TimeSpan DefaultRefreshHint = TimeSpan.FromMinutes(5);

    /// <summary>The trust domain whose bundle is served (this server's own). Required.</summary>
    public TrustDomain? TrustDomain { get; set; }

    /// <summary>Where the trust domain's X.509 authorities come from: an <c>X509Source</c>, a <c>BundleSource</c>, a <c>FileX509Source</c>. Required.</summary>
    public IX509BundleSource? X509Bundles { get; set; }

    /// <summary>Where the trust domain's JWT authorities come from (a <c>JwtSource</c>, <c>BundleSource</c>, <c>FileJwtBundleSource</c>); null serves none.</summary>
    public IJwtBundleSource? JwtBundles { get; set; }

    /// <summary>The <c>spiffe_refresh_hint</c> served: how often clients should fetch again. Whole seconds; default 5 minutes.</summary>
    public TimeSpan RefreshHint { get; set; } = DefaultRefreshHint;

    /// <summary>The clock that numbers <c>spiffe_sequence</c> (seconds since 1970 when the content last changed); <see cref="TimeProvider.System"/> when null.</summary>
    public TimeProvider? TimeProvider { get; set; }
}

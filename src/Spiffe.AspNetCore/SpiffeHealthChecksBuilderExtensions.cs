using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Spiffe.AspNetCore.Hosting;
using Microsoft.Extensions.Options;
using Spiffe.Files;
using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore;

/// <summary>
/// A health check of the workload's SPIFFE identity: the <c>AddSpiffe()</c> <see cref="X509Source"/>, or its
/// <see cref="FileX509Source"/> when <c>Spiffe:Files:Directory</c> is set (Degraded then means the files are rejected;
/// <c>address</c> is the directory).
/// </summary>
/// <remarks>
/// <code>
/// builder.Services.AddSpiffe();
/// builder.Services.AddHealthChecks().AddSpiffe(tags: ["ready"]);
/// app.MapHealthChecks("/healthz");
/// </code>
/// </remarks>
public static class SpiffeHealthChecksBuilderExtensions
{
    /// <summary>The default expiry margin of <see cref="AddSpiffe"/>: 5 minutes.</summary>
    public static readonly TimeSpan DefaultExpiryMargin = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Adds a check that is Healthy while the workload has a current X509-SVID; Degraded when the SVID is
    /// valid but the Workload API is failing (agent unreachable, stream ended, a message discarded), or it
    /// expires within <paramref name="expiryMargin"/>; <paramref name="failureStatus"/> (Unhealthy by default)
    /// with no SVID (none yet, or the agent denied the identity) or an expired one. Its data holds
    /// <c>spiffe_id</c>, <c>expires_at</c>, <c>last_update</c>, <c>last_error</c> and <c>address</c>; never key material.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Default <c>spiffe</c>.</param>
    /// <param name="failureStatus">The status reported without a usable SVID; null means Unhealthy.</param>
    /// <param name="tags">Tags to filter checks by (e.g. readiness).</param>
    /// <param name="expiryMargin">How close to expiry an SVID makes the check Degraded; null means <see cref="DefaultExpiryMargin"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="expiryMargin"/> is negative.</exception>
    public static IHealthChecksBuilder AddSpiffe(this IHealthChecksBuilder builder, string name = "spiffe", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null, TimeSpan? expiryMargin = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        TimeSpan margin = expiryMargin ?? DefaultExpiryMargin;
        ArgumentOutOfRangeException.ThrowIfLessThan(margin, TimeSpan.Zero, nameof(expiryMargin));
        return builder.Add(new HealthCheckRegistration(
            name,
            sp => sp.GetRequiredService<IOptions<SpiffeOptions>>().Value.Files.Enabled
                ? new SpiffeHealthCheck(sp.GetRequiredService<FileX509Source>(), SpiffeServiceCollectionExtensions.TimeOf(sp), margin)
                : new SpiffeHealthCheck(sp.GetRequiredService<X509Source>(), SpiffeServiceCollectionExtensions.TimeOf(sp), margin),
            failureStatus,
            tags));
    }
}

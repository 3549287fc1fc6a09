using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Spiffe.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Audit;

/// <summary>Registers the SPIFFE audit trail.</summary>
public static class SpiffeAuditServiceCollectionExtensions
{
    /// <summary>
    /// Adds the SPIFFE audit trail: exactly one <see cref="SpiffeAuditEvent"/> per request that reached
    /// a SPIFFE authentication scheme or came over a <c>UseSpiffeMtls</c> connection, and one per TLS
    /// handshake a <c>UseSpiffeMtls</c> endpoint refused, written to the log (category <c>Spiffe.Audit</c>,
    /// events 4100/4101) and to every other registered <see cref="ISpiffeAuditSink"/>. Also calls
    /// <c>AddSpiffeAuthorization()</c>, whose result handler reports each decision to the trail.
    /// </summary>
    /// <remarks>
    /// <code>
    /// builder.Services.AddAuthentication().AddSpiffeX509().AddSpiffeJwt(o => o.Audiences = ["spiffe://example.org/payments"]);
    /// builder.Services.AddSpiffeAudit();
    /// builder.Services.AddSingleton&lt;ISpiffeAuditSink, MyQueueSink&gt;();   // optional: another destination
    /// </code>
    /// The audit middleware runs first in the pipeline (an <c>IStartupFilter</c>), so the event's
    /// status and duration cover everything the app does. Decision sources add their decisions to
    /// <see cref="ISpiffeAuthorizationDecisionFeature"/>. The time comes from the <see cref="TimeProvider"/>
    /// registered in DI (the system clock if none).
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddSpiffeAudit(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSpiffeAuthorization();
        if (services.Any(static d => d.ServiceType == typeof(SpiffeAuditTrail)))
        {
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<SpiffeAuditTrail>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISpiffeAuditSink, SpiffeAuditLogSink>());
        services.AddTransient<IStartupFilter, SpiffeAuditStartupFilter>();
        return services;
    }
}

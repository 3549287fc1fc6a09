using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Spiffe.AspNetCore.Opa;

/// <summary>Registers Open Policy Agent as the policy decision point of <c>RequireOpaDecision()</c> policies.</summary>
public static class OpaServiceCollectionExtensions
{
    /// <summary>
    /// Adds the OPA decision point: policies built with
    /// <see cref="OpaAuthorizationPolicyBuilderExtensions.RequireOpaDecision"/> ask OPA's Data API
    /// (<c>POST {Endpoint}/v1/data/{DecisionPath}</c>) whether the SPIFFE caller may make the request.
    /// Allow → the requirement succeeds; deny or an undefined decision → 403; OPA unreachable, slow,
    /// erroring or answering nonsense → 503 with <c>Retry-After</c>. Decisions are cached
    /// (<see cref="OpaAuthorizationOptions.CacheTtl"/>), identical concurrent questions share one query,
    /// and a circuit breaker stops querying a dead OPA.
    /// </summary>
    /// <returns>
    /// The builder of the <c>HttpClient</c> that reaches OPA, e.g. to give it a SPIFFE mTLS handler
    /// (<c>.ConfigurePrimaryHttpMessageHandler(...)</c>); its own timeout is unused (see <see cref="OpaAuthorizationOptions.Timeout"/>).
    /// </returns>
    /// <example>
    /// <code>
    /// builder.Services.AddAuthentication().AddSpiffeX509();
    /// builder.Services.AddOpaAuthorization(o =>
    /// {
    ///     o.Endpoint = new Uri("http://127.0.0.1:8181/");
    ///     o.DecisionPath = "http/authz/allow";
    /// });
    /// builder.Services.AddAuthorization(o => o.AddPolicy("opa", p => p.AddSpiffeAuthenticationSchemes().RequireOpaDecision()));
    /// </code>
    /// </example>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static IHttpClientBuilder AddOpaAuthorization(this IServiceCollection services, Action<OpaAuthorizationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<OpaAuthorizationOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OpaAuthorizationOptions>, OpaAuthorizationOptionsValidator>());
        services.AddAuthorization();
        services.TryAddSingleton(static provider => new OpaDecisionPoint(
            provider.GetRequiredService<IHttpClientFactory>(),
            provider.GetRequiredService<IOptions<OpaAuthorizationOptions>>(),
            provider.GetRequiredService<ILoggerFactory>(),
            provider.GetService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, OpaDecisionHandler>());
        DecorateResultHandler(services);
        return services.AddHttpClient(OpaDecisionPoint.HttpClientName, static client => client.Timeout = System.Threading.Timeout.InfiniteTimeSpan);
    }

    private static void DecorateResultHandler(IServiceCollection services)
    {
        if (services.Any(static d => d.ServiceType == typeof(OpaResultHandlerMarker)))
        {
            return;
        }

        services.AddSingleton<OpaResultHandlerMarker>();
        ServiceDescriptor? existing = services.LastOrDefault(static d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler) && !d.IsKeyedService);
        services.RemoveAll<IAuthorizationMiddlewareResultHandler>();
        bool stateless = existing is null || existing.ImplementationType == typeof(AuthorizationMiddlewareResultHandler);
        services.Add(new ServiceDescriptor(
            typeof(IAuthorizationMiddlewareResultHandler),
            provider => new OpaAuthorizationResultHandler(existing is null ? new AuthorizationMiddlewareResultHandler() : CreateInner(provider, existing)),
            stateless ? ServiceLifetime.Singleton : existing!.Lifetime));
    }

    private static IAuthorizationMiddlewareResultHandler CreateInner(IServiceProvider provider, ServiceDescriptor descriptor) =>
        (IAuthorizationMiddlewareResultHandler)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(provider)
            ?? ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!));

    /// <summary>Marks that the result handler is already decorated (AddOpaAuthorization called twice).</summary>
    private sealed class OpaResultHandlerMarker;
}

using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.AspNetCore.Authorization;

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

        // SPIFFE authorization's result handler answers an unreachable OPA with 503 + Retry-After
        // and records it as "unavailable" (metrics, denial log, audit); it is registered once.
        services.AddSpiffeAuthorization();
        return services.AddHttpClient(OpaDecisionPoint.HttpClientName, static client => client.Timeout = System.Threading.Timeout.InfiniteTimeSpan);
    }
}

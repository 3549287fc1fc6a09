using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>Registers SPIFFE authorization: configuration policies, deny by default, decision telemetry.</summary>
public static class SpiffeAuthorizationServiceCollectionExtensions
{
    /// <summary>The configuration section the policies are read from (its <c>Policies</c> child).</summary>
    public const string ConfigurationSection = "Spiffe:Authorization";

    /// <summary>
    /// The name of the authorization policy that enforces the SPIFFE rule set
    /// (<c>Spiffe:Authorization:Rules</c>, <see cref="SpiffeAuthorizationRuleOptions"/>) with the SPIFFE
    /// schemes: <c>RequireAuthorization("SpiffeRules")</c> or <c>[Authorize(Policy = "SpiffeRules")]</c>.
    /// </summary>
    public const string RulesPolicyName = "SpiffeRules";

    /// <summary>
    /// Adds ASP.NET Core authorization plus: one authorization policy per entry of
    /// <c>Spiffe:Authorization:Policies</c> (<see cref="SpiffeAuthorizationPolicyOptions"/>), whose rules
    /// reload with the configuration (a bad reload keeps the last good rules and logs why; bad rules at
    /// startup fail the startup); optionally a deny-by-default fallback policy; the
    /// <c>spiffe.authorization.decisions</c> counter and a log event for each denial. Also the SPIFFE
    /// rule set of <c>Spiffe:Authorization:Rules</c> (<see cref="SpiffeAuthorizationRuleOptions"/>),
    /// enforced by the <see cref="RulesPolicyName"/> policy and by <c>RequireSpiffeRules()</c>, reloaded
    /// the same way.
    /// </summary>
    /// <remarks>
    /// <code>
    /// builder.Services.AddAuthentication().AddSpiffeX509();
    /// builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true);
    /// </code>
    /// Decisions are observed by wrapping the <see cref="IAuthorizationMiddlewareResultHandler"/>
    /// registered before this call; register a custom one before calling it.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddSpiffeAuthorization(this IServiceCollection services, Action<SpiffeEndpointAuthorizationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddAuthorization();
        services.AddMetrics();
        OptionsBuilder<SpiffeEndpointAuthorizationOptions> endpointOptions = services.AddOptions<SpiffeEndpointAuthorizationOptions>();
        if (configure is not null)
        {
            endpointOptions.Configure(configure);
        }

        if (services.Any(static d => d.ServiceType == typeof(SpiffeConfiguredPolicies)))
        {
            return services; // the rest is registered once
        }

        services.AddOptions<SpiffeAuthorizationPolicyOptions>().Configure<IServiceProvider>(static (options, provider) =>
        {
            if (provider.GetService<IConfiguration>() is { } configuration)
            {
                ReadPolicies(configuration.GetSection(ConfigurationSection).GetSection("Policies"), options);
            }
        });
        services.AddSingleton<IOptionsChangeTokenSource<SpiffeAuthorizationPolicyOptions>, ConfigurationReloadTokenSource<SpiffeAuthorizationPolicyOptions>>();
        services.AddSingleton<SpiffeConfiguredPolicies>();
        services.AddOptions<SpiffeAuthorizationRuleOptions>().Configure<IServiceProvider>(static (options, provider) =>
        {
            if (provider.GetService<IConfiguration>() is { } configuration)
            {
                ReadRules(configuration.GetSection(ConfigurationSection).GetSection("Rules"), options);
            }
        });
        services.AddSingleton<IOptionsChangeTokenSource<SpiffeAuthorizationRuleOptions>, ConfigurationReloadTokenSource<SpiffeAuthorizationRuleOptions>>();
        services.AddSingleton<SpiffeConfiguredRules>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, SpiffeRulesHandler>());
        services.TryAddSingleton<SpiffeAuthorizationMetrics>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, SpiffeConfiguredPolicyHandler>());
        services.AddOptions<AuthorizationOptions>().Configure<SpiffeConfiguredPolicies, SpiffeConfiguredRules, IOptions<SpiffeEndpointAuthorizationOptions>, IOptions<AuthenticationOptions>>(
            static (authorization, policies, _, spiffe, authentication) =>
            {
                string[] schemes = spiffe.Value.AuthenticationSchemes.Count > 0
                    ? [.. spiffe.Value.AuthenticationSchemes]
                    : [.. new[] { SpiffeAuthenticationDefaults.X509Scheme, SpiffeAuthenticationDefaults.JwtScheme }.Where(authentication.Value.SchemeMap.ContainsKey)];
                foreach (string name in policies.StartupNames)
                {
                    if (authorization.GetPolicy(name) is null)
                    {
                        authorization.AddPolicy(name, policy => policy.AddAuthenticationSchemes(schemes).AddRequirements(new SpiffeConfiguredPolicyRequirement(name)));
                    }
                }

                // Resolving SpiffeConfiguredRules above compiles the rule set: invalid rules fail the startup here.
                if (authorization.GetPolicy(RulesPolicyName) is null)
                {
                    authorization.AddPolicy(RulesPolicyName, policy => policy.AddAuthenticationSchemes(schemes).AddRequirements(SpiffeRulesRequirement.Instance));
                }

                if (spiffe.Value.DenyByDefault)
                {
                    authorization.FallbackPolicy = new AuthorizationPolicyBuilder(schemes).AddRequirements(new SpiffeDenyRequirement()).Build();
                }
            });
        DecorateResultHandler(services);
        return services;
    }

    // Read by hand rather than with ConfigurationBinder: trimming- and AOT-safe, and a single string
    // where a list is expected counts as a one-element list.
    private static void ReadPolicies(IConfigurationSection policies, SpiffeAuthorizationPolicyOptions options)
    {
        foreach (IConfigurationSection policy in policies.GetChildren())
        {
            options.Policies[policy.Key] = new SpiffePolicyRule
            {
                AllowedIds = ReadList(policy.GetSection(nameof(SpiffePolicyRule.AllowedIds))),
                AllowedTrustDomains = ReadList(policy.GetSection(nameof(SpiffePolicyRule.AllowedTrustDomains))),
                Patterns = ReadList(policy.GetSection(nameof(SpiffePolicyRule.Patterns))),
            };
        }
    }

    private static void ReadRules(IConfigurationSection rules, SpiffeAuthorizationRuleOptions options)
    {
        foreach (IConfigurationSection entry in rules.GetChildren())
        {
            var rule = new SpiffeAuthorizationRule
            {
                Action = entry[nameof(SpiffeAuthorizationRule.Action)],
                Principals = ReadList(entry.GetSection(nameof(SpiffeAuthorizationRule.Principals))),
                Methods = ReadList(entry.GetSection(nameof(SpiffeAuthorizationRule.Methods))),
                Paths = ReadList(entry.GetSection(nameof(SpiffeAuthorizationRule.Paths))),
            };
            foreach (IConfigurationSection field in entry.GetChildren())
            {
                if (!s_ruleFields.Contains(field.Key))
                {
                    rule.UnknownKeys.Add(field.Key);
                }
            }

            if (entry.Value is not null)
            {
                rule.UnknownKeys.Add("(a value where a rule object is expected)");
            }

            options.Rules.Add(rule);
        }
    }

    private static readonly HashSet<string> s_ruleFields = new(StringComparer.OrdinalIgnoreCase)
    {
        nameof(SpiffeAuthorizationRule.Action), nameof(SpiffeAuthorizationRule.Principals), nameof(SpiffeAuthorizationRule.Methods), nameof(SpiffeAuthorizationRule.Paths),
    };

    private static List<string> ReadList(IConfigurationSection section) =>
        section.Value is { } single ? [single] : [.. section.GetChildren().Select(static c => c.Value ?? string.Empty)];

    private static void DecorateResultHandler(IServiceCollection services)
    {
        ServiceDescriptor? existing = services.LastOrDefault(static d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler) && !d.IsKeyedService);
        if (existing is null)
        {
            return;
        }

        services.RemoveAll<IAuthorizationMiddlewareResultHandler>();
        bool stateless = existing.ImplementationType == typeof(AuthorizationMiddlewareResultHandler);
        services.Add(new ServiceDescriptor(
            typeof(IAuthorizationMiddlewareResultHandler),
            provider => new SpiffeAuthorizationResultHandler(
                CreateInner(provider, existing),
                provider.GetRequiredService<SpiffeAuthorizationMetrics>(),
                provider.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()),
            stateless ? ServiceLifetime.Singleton : existing.Lifetime));
    }

    private static IAuthorizationMiddlewareResultHandler CreateInner(IServiceProvider provider, ServiceDescriptor descriptor) =>
        (IAuthorizationMiddlewareResultHandler)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(provider)
            ?? ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!));

    /// <summary>Reloads the policies or rules whenever the app's configuration reloads.</summary>
    private sealed class ConfigurationReloadTokenSource<TOptions>(IServiceProvider provider) : IOptionsChangeTokenSource<TOptions>
    {
        public string? Name => Options.DefaultName;

        public IChangeToken GetChangeToken() =>
            provider.GetService<IConfiguration>()?.GetReloadToken() ?? new CancellationChangeToken(CancellationToken.None);
    }
}

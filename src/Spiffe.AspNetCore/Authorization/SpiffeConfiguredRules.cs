using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// The compiled rule set (<see cref="SpiffeAuthorizationRuleOptions"/>), swapped whole on each valid
/// reload. A reload with any invalid rule is rejected and logged; the last good set stays. Invalid
/// rules at startup fail the startup with a message naming the configuration key.
/// </summary>
internal sealed class SpiffeConfiguredRules : IDisposable
{
    private readonly ILogger _logger;
    private readonly IDisposable? _subscription;
    private volatile SpiffeRuleSet _current;

    public SpiffeConfiguredRules(IOptionsMonitor<SpiffeAuthorizationRuleOptions> options, ILoggerFactory loggerFactory)
    {
        _logger = loggerFactory.CreateLogger("Spiffe.AspNetCore.Authorization");
        if (!SpiffeRuleSet.TryCompile(options.CurrentValue, out SpiffeRuleSet? rules, out string? error))
        {
            throw new InvalidOperationException($"The SPIFFE authorization rules in configuration are invalid: {error}");
        }

        _current = rules;
        if (rules.Count > 0)
        {
            SpiffeAuthorizationLog.RuleSetLoaded(_logger, rules.Count);
        }

        _subscription = options.OnChange((updated, name) =>
        {
            if (name is null || name == Options.DefaultName)
            {
                Reload(updated);
            }
        });
    }

    /// <summary>The rule set in force.</summary>
    public SpiffeRuleSet Current => _current;

    public void Dispose() => _subscription?.Dispose();

    internal bool Reload(SpiffeAuthorizationRuleOptions options)
    {
        if (!SpiffeRuleSet.TryCompile(options, out SpiffeRuleSet? rules, out string? error))
        {
            SpiffeAuthorizationLog.RuleSetReloadRejected(_logger, error);
            return false;
        }

        if (rules.Fingerprint == _current.Fingerprint)
        {
            return true;
        }

        _current = rules;
        SpiffeAuthorizationLog.RuleSetLoaded(_logger, rules.Count);
        return true;
    }
}

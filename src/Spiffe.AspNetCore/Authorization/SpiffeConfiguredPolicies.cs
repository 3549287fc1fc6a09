using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// The compiled configuration rules (<see cref="SpiffeAuthorizationPolicyOptions"/>), swapped whole
/// on each valid reload. A reload with any invalid entry is rejected and logged; the last good rules
/// stay. Invalid rules at startup fail the startup.
/// </summary>
internal sealed class SpiffeConfiguredPolicies : IDisposable
{
    private readonly ILogger _logger;
    private readonly IDisposable? _subscription;
    private readonly HashSet<string> _startupNames;
    private volatile Snapshot _current;

    public SpiffeConfiguredPolicies(IOptionsMonitor<SpiffeAuthorizationPolicyOptions> options, ILoggerFactory loggerFactory)
    {
        _logger = loggerFactory.CreateLogger("Spiffe.AspNetCore.Authorization");
        if (!TryCompile(options.CurrentValue, out Snapshot? snapshot, out string? error))
        {
            throw new InvalidOperationException($"The SPIFFE authorization rules in configuration (Spiffe:Authorization:Policies) are invalid: {error}");
        }

        _current = snapshot;
        _startupNames = [.. snapshot.Rules.Keys];
        if (snapshot.Rules.Count > 0)
        {
            SpiffeAuthorizationLog.RulesLoaded(_logger, snapshot.Rules.Count, snapshot.Names);
        }

        _subscription = options.OnChange((updated, name) =>
        {
            if (name is null || name == Options.DefaultName)
            {
                Reload(updated);
            }
        });
    }

    /// <summary>The policy names present at startup (those registered as authorization policies).</summary>
    public IReadOnlyCollection<string> StartupNames => _startupNames;

    public bool TryGetRule(string name, [NotNullWhen(true)] out SpiffePolicyCompiledRule? rule) => _current.Rules.TryGetValue(name, out rule);

    public void Dispose() => _subscription?.Dispose();

    internal void Reload(SpiffeAuthorizationPolicyOptions options)
    {
        if (!TryCompile(options, out Snapshot? snapshot, out string? error))
        {
            SpiffeAuthorizationLog.ReloadRejected(_logger, error);
            return;
        }

        Snapshot previous = _current;
        if (snapshot.Fingerprint == previous.Fingerprint)
        {
            return;
        }

        foreach (string name in snapshot.Rules.Keys)
        {
            if (!_startupNames.Contains(name))
            {
                SpiffeAuthorizationLog.PolicyAddedAfterStartup(_logger, name);
            }
        }

        foreach (string name in previous.Rules.Keys)
        {
            if (!snapshot.Rules.ContainsKey(name))
            {
                SpiffeAuthorizationLog.PolicyRemoved(_logger, name);
            }
        }

        _current = snapshot;
        SpiffeAuthorizationLog.RulesLoaded(_logger, snapshot.Rules.Count, snapshot.Names);
    }

    private static bool TryCompile(SpiffeAuthorizationPolicyOptions options, [NotNullWhen(true)] out Snapshot? snapshot, [NotNullWhen(false)] out string? error)
    {
        snapshot = null;
        var rules = new Dictionary<string, SpiffePolicyCompiledRule>(StringComparer.Ordinal);
        foreach ((string name, SpiffePolicyRule? rule) in options.Policies ?? new Dictionary<string, SpiffePolicyRule>())
        {
            if (rule is null || (Count(rule.AllowedIds) + Count(rule.AllowedTrustDomains) + Count(rule.Patterns)) == 0)
            {
                error = $"policy '{name}' allows nobody: it has no AllowedIds, AllowedTrustDomains or Patterns (check the key names).";
                return false;
            }

            var ids = new HashSet<SpiffeId>();
            foreach (string? text in rule.AllowedIds ?? [])
            {
                if (!SpiffeId.TryParse(text, out SpiffeId? id))
                {
                    error = $"policy '{name}': AllowedIds entry \"{text}\" is not a SPIFFE ID: {ParseError(text)}";
                    return false;
                }

                ids.Add(id);
            }

            var domains = new List<TrustDomain>();
            foreach (string? text in rule.AllowedTrustDomains ?? [])
            {
                if (!TrustDomain.TryParse(text, out TrustDomain? domain))
                {
                    error = $"policy '{name}': AllowedTrustDomains entry \"{text}\" is not a trust domain name (e.g. example.org).";
                    return false;
                }

                domains.Add(domain);
            }

            var templates = new List<SpiffeIdTemplate>();
            foreach (string? text in rule.Patterns ?? [])
            {
                if (!SpiffeIdTemplate.TryParse(text, out SpiffeIdTemplate? template, out string? templateError))
                {
                    error = $"policy '{name}': Patterns entry is invalid: {templateError}";
                    return false;
                }

                templates.Add(template);
            }

            rules[name] = new SpiffePolicyCompiledRule(name, ids, [.. domains], [.. templates]);
        }

        string names = string.Join(", ", rules.Keys.Order(StringComparer.Ordinal));
        string fingerprint = string.Join("\n", rules.Values.OrderBy(static r => r.Name, StringComparer.Ordinal).Select(static r => r.ToString()));
        snapshot = new Snapshot(rules, names, fingerprint);
        error = null;
        return true;
    }

    private static string ParseError(string? text)
    {
        try
        {
            _ = SpiffeId.Parse(text ?? string.Empty);
            return "invalid";
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    private static int Count(IList<string>? list) => list?.Count ?? 0;

    private sealed record Snapshot(Dictionary<string, SpiffePolicyCompiledRule> Rules, string Names, string Fingerprint);
}

using Microsoft.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>The requirement of <c>RequireSpiffeRules()</c>: decided by <see cref="SpiffeRulesHandler"/> with the rule set in force at each decision.</summary>
internal sealed class SpiffeRulesRequirement : IAuthorizationRequirement
{
    public static SpiffeRulesRequirement Instance { get; } = new();

    public override string ToString() => $"SPIFFE rule set ({SpiffeRuleSet.Section}; registered by AddSpiffeAuthorization())";
}

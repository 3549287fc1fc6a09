namespace Spiffe.AspNetCore.Authorization;

/// <summary>A validated configuration rule: exact IDs, trust domains and patterns (any of them allows).</summary>
internal sealed class SpiffePolicyCompiledRule(string name, HashSet<SpiffeId> ids, TrustDomain[] trustDomains, SpiffeIdTemplate[] templates)
{
    public string Name { get; } = name;

    /// <summary>Whether <paramref name="id"/> is allowed; <paramref name="match"/> is the pattern that allowed it, if one did.</summary>
    public bool IsAllowed(SpiffeId id, out SpiffeIdTemplate? match, out IReadOnlyDictionary<string, string>? values)
    {
        match = null;
        values = null;
        if (ids.Contains(id))
        {
            return true;
        }

        foreach (TrustDomain domain in trustDomains)
        {
            if (id.MemberOf(domain))
            {
                return true;
            }
        }

        foreach (SpiffeIdTemplate template in templates)
        {
            if (template.TryMatch(id, out values))
            {
                match = template;
                return true;
            }
        }

        return false;
    }

    public override string ToString() =>
        $"{Name}: ids [{string.Join(", ", ids.Select(static i => i.ToString()).Order(StringComparer.Ordinal))}], trust domains [{string.Join(", ", trustDomains.Select(static d => d.Name))}], patterns [{string.Join(", ", templates.Select(static t => t.Text))}]";
}

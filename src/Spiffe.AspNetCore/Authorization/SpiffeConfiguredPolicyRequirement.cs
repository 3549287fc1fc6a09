using Microsoft.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>The requirement of a configuration policy: looks its rule up by name at each decision, so reloads apply to cached policies.</summary>
internal sealed class SpiffeConfiguredPolicyRequirement(string name) : IAuthorizationRequirement
{
    public string Name { get; } = name;

    public override string ToString() => $"configured policy '{Name}'";
}

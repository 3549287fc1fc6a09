namespace Spiffe.AspNetCore.Authorization;

/// <summary>Endpoint metadata naming an unnamed policy (the endpoint shorthands) in logs and metrics.</summary>
internal sealed class SpiffePolicyNameMetadata(string name)
{
    public string Name { get; } = name;
}

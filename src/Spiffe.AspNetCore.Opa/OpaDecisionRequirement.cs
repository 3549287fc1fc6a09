using Microsoft.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Opa;

/// <summary>Requires OPA to allow the request (<c>RequireOpaDecision()</c>).</summary>
internal sealed class OpaDecisionRequirement : IAuthorizationRequirement
{
    public static readonly OpaDecisionRequirement Instance = new();

    public override string ToString() => "OPA decision";
}

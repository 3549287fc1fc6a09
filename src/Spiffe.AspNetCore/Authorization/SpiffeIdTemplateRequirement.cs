using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// Requires a caller whose SPIFFE ID matches one of <see cref="Templates"/> (first match wins); the
/// captured segments are set on the request as <see cref="ISpiffeIdMatchFeature"/>. Handles itself.
/// </summary>
public sealed class SpiffeIdTemplateRequirement : AuthorizationHandler<SpiffeIdTemplateRequirement>, IAuthorizationRequirement
{
    private readonly SpiffeIdTemplate[] _templates;

    /// <summary>Creates the requirement.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">No template is given.</exception>
    public SpiffeIdTemplateRequirement(params IEnumerable<SpiffeIdTemplate> templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        _templates = [.. templates];
        if (_templates.Length == 0)
        {
            throw new ArgumentException("At least one SPIFFE ID pattern is required.", nameof(templates));
        }

        foreach (SpiffeIdTemplate template in _templates)
        {
            ArgumentNullException.ThrowIfNull(template, nameof(templates));
        }
    }

    /// <summary>The accepted patterns.</summary>
    public IReadOnlyList<SpiffeIdTemplate> Templates => Array.AsReadOnly(_templates);

    /// <summary>Describes the rule.</summary>
    public override string ToString() => $"SPIFFE ID matching {string.Join(" or ", _templates.Select(static t => t.Text))}";

    /// <inheritdoc/>
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SpiffeIdTemplateRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requirement);
        if (!context.User.TryGetSpiffeId(out SpiffeId? id))
        {
            context.Fail(new AuthorizationFailureReason(this, "no SPIFFE caller"));
            return Task.CompletedTask;
        }

        foreach (SpiffeIdTemplate template in requirement._templates)
        {
            if (template.TryMatch(id, out IReadOnlyDictionary<string, string>? values))
            {
                (context.Resource as HttpContext)?.Features.Set<ISpiffeIdMatchFeature>(new SpiffeIdMatchFeature(template, values));
                context.Succeed(requirement);
                return Task.CompletedTask;
            }
        }

        context.Fail(new AuthorizationFailureReason(this, $"{id} is not allowed ({requirement})"));
        return Task.CompletedTask;
    }
}

using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// Decides <see cref="SpiffeRulesRequirement"/> for the caller the SPIFFE schemes authenticated, the
/// request method and the request path (<c>HttpRequest.Path</c>: decoded and normalized by the
/// server, relative to <c>PathBase</c>, without the query string). The decision, with the index of
/// the deciding rule, is added to <see cref="ISpiffeAuthorizationDecisionFeature"/> when the request has one.
/// </summary>
internal sealed class SpiffeRulesHandler(SpiffeConfiguredRules rules) : AuthorizationHandler<SpiffeRulesRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SpiffeRulesRequirement requirement)
    {
        if (!context.User.TryGetSpiffeId(out SpiffeId? caller))
        {
            context.Fail(new AuthorizationFailureReason(this, "no SPIFFE caller"));
            return Task.CompletedTask;
        }

        HttpContext? http = context.Resource as HttpContext ?? (context.Resource as IHttpContextAccessor)?.HttpContext;
        if (http is null)
        {
            context.Fail(new AuthorizationFailureReason(this, "the SPIFFE rule set needs the HTTP request (method and path) as the authorization resource"));
            return Task.CompletedTask;
        }

        string method = http.Request.Method;
        string path = http.Request.Path.Value ?? string.Empty;
        SpiffeRuleDecision decision = rules.Current.Evaluate(caller, method, path);
        ISpiffeAuthorizationDecisionFeature? decisions = http.Features.Get<ISpiffeAuthorizationDecisionFeature>();
        if (decision.Allowed)
        {
            decisions?.Add(new SpiffeAuthorizationDecision(SpiffeAuthorizationDecision.RulesSource, allowed: true) { RuleIndex = decision.RuleIndex });
            context.Succeed(requirement);
            return Task.CompletedTask;
        }

        string reason = decision.RuleIndex >= 0
            ? $"{caller} {method} {path} matches DENY rule {decision.RuleIndex} ({SpiffeRuleSet.Section}:{decision.RuleIndex})"
            : $"{caller} {method} {path} matches no ALLOW rule of {SpiffeRuleSet.Section}";
        decisions?.Add(new SpiffeAuthorizationDecision(SpiffeAuthorizationDecision.RulesSource, allowed: false)
        {
            RuleIndex = decision.RuleIndex >= 0 ? decision.RuleIndex : null,
            Reason = reason,
        });
        context.Fail(new AuthorizationFailureReason(this, reason));
        return Task.CompletedTask;
    }
}

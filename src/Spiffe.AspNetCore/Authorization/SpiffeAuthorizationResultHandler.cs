using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore.Audit;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// Wraps the app's <see cref="IAuthorizationMiddlewareResultHandler"/> to count every decision of
/// the authorization middleware by outcome and policy, and to log each denial with its policy and
/// reasons. A denial because a decision point could not answer (<see cref="SpiffeDecisionPointUnavailableReason"/>)
/// is answered here: 503 with <c>Retry-After</c> and an empty body; everything else goes to the inner handler.
/// </summary>
internal sealed class SpiffeAuthorizationResultHandler(IAuthorizationMiddlewareResultHandler inner, SpiffeAuthorizationMetrics metrics, ILoggerFactory loggerFactory)
    : IAuthorizationMiddlewareResultHandler
{
    public const string Allowed = "allowed";
    public const string Challenged = "challenged";
    public const string Forbidden = "forbidden";
    public const string Unavailable = "unavailable";

    private readonly ILogger _logger = loggerFactory.CreateLogger("Spiffe.AspNetCore.Authorization");

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        SpiffeAuditDecision decision = authorizeResult.Succeeded ? SpiffeAuditDecision.Allowed
            : !authorizeResult.Forbidden ? SpiffeAuditDecision.Challenged
            : DecisionPointUnavailable(authorizeResult) ? SpiffeAuditDecision.Unavailable
            : SpiffeAuditDecision.Forbidden;
        string outcome = decision switch
        {
            SpiffeAuditDecision.Allowed => Allowed,
            SpiffeAuditDecision.Challenged => Challenged,
            SpiffeAuditDecision.Unavailable => Unavailable,
            _ => Forbidden,
        };
        string policyName = PolicyName(context);
        metrics.Record(outcome, policyName);
        SpiffeAuditRecord? audit = context.Features.Get<SpiffeAuditRecord>();
        if (audit is not null)
        {
            audit.Decision = decision;
            audit.PolicyName = policyName;
        }

        if (!authorizeResult.Succeeded)
        {
            string reasons = Reasons(authorizeResult);
            audit?.Reason = reasons;
            SpiffeAuthorizationLog.Denied(
                _logger,
                outcome,
                policyName,
                context.User.TryGetSpiffeId(out SpiffeId? caller) ? caller.ToString() : "an unauthenticated caller",
                context.GetEndpoint()?.DisplayName ?? context.Request.Path.ToString(),
                reasons);
        }

        if (decision == SpiffeAuditDecision.Unavailable)
        {
            // Fail closed without judging: 503, when to retry, and nothing about the policy.
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            long seconds = Math.Max(1, (long)Math.Ceiling(RetryAfter(authorizeResult).TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }

        return inner.HandleAsync(next, context, policy, authorizeResult);
    }

    internal static string PolicyName(HttpContext context)
    {
        Endpoint? endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            return "fallback";
        }

        if (endpoint.Metadata.GetMetadata<SpiffePolicyNameMetadata>() is { } named)
        {
            return named.Name;
        }

        IReadOnlyList<IAuthorizeData> data = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>();
        if (data.Count == 1 && data[0].Policy is { } single)
        {
            return single;
        }

        string[] names = [.. data.Select(static d => d.Policy).OfType<string>().Distinct(StringComparer.Ordinal)];
        if (names.Length > 0)
        {
            return string.Join(",", names);
        }

        return data.Count > 0 || endpoint.Metadata.GetMetadata<AuthorizationPolicy>() is not null ? "default" : "fallback";
    }

    private static bool DecisionPointUnavailable(PolicyAuthorizationResult result) => RetryAfter(result) != TimeSpan.MinValue;

    /// <summary>The longest <c>Retry-After</c> of the decision points that could not answer; <see cref="TimeSpan.MinValue"/> when none failed.</summary>
    private static TimeSpan RetryAfter(PolicyAuthorizationResult result)
    {
        TimeSpan retryAfter = TimeSpan.MinValue;
        if (result.AuthorizationFailure is { } failure)
        {
            foreach (AuthorizationFailureReason reason in failure.FailureReasons)
            {
                if (reason is SpiffeDecisionPointUnavailableReason unavailable && unavailable.RetryAfter > retryAfter)
                {
                    retryAfter = unavailable.RetryAfter;
                }
            }
        }

        return retryAfter;
    }

    private static string Reasons(PolicyAuthorizationResult result)
    {
        AuthorizationFailure? failure = result.AuthorizationFailure;
        if (failure is null)
        {
            return "no authenticated caller for the policy's schemes";
        }

        IEnumerable<string> reasons = failure.FailureReasons.Select(static r => r.Message);
        if (!failure.FailureReasons.Any())
        {
            reasons = failure.FailedRequirements.Select(static r => r.ToString() ?? r.GetType().Name);
        }

        string text = string.Join("; ", reasons.Distinct(StringComparer.Ordinal));
        return text.Length == 0 ? "denied" : text;
    }
}

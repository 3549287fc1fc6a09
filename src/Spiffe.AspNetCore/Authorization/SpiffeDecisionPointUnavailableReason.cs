using Microsoft.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// A denial because an external policy decision point (such as OPA) gave no usable answer: the
/// request fails closed, but it was not judged. Metrics, the denial log and the audit trail record
/// it as <c>unavailable</c>, not <c>forbidden</c>, so an outage is not mistaken for refused callers.
/// </summary>
public class SpiffeDecisionPointUnavailableReason : AuthorizationFailureReason
{
    /// <summary>Creates the reason.</summary>
    /// <param name="handler">The handler that could not decide.</param>
    /// <param name="message">Why (for logs; never sent to the caller).</param>
    /// <param name="retryAfter">When the caller may retry (the <c>Retry-After</c> of the 503).</param>
    public SpiffeDecisionPointUnavailableReason(IAuthorizationHandler handler, string message, TimeSpan retryAfter)
        : base(handler, message)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>When the caller may retry.</summary>
    public TimeSpan RetryAfter { get; }
}

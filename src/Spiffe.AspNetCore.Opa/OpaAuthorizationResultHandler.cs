using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace Spiffe.AspNetCore.Opa;

/// <summary>
/// Wraps the app's <see cref="IAuthorizationMiddlewareResultHandler"/>: a request denied because OPA
/// was unreachable or erroring gets 503 with <c>Retry-After</c> and an empty body (fail closed, and
/// the caller learns nothing about the policy); every other result goes to the inner handler
/// (403 for a denial, 401 without a caller).
/// </summary>
internal sealed class OpaAuthorizationResultHandler(IAuthorizationMiddlewareResultHandler inner) : IAuthorizationMiddlewareResultHandler
{
    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Succeeded && authorizeResult.AuthorizationFailure is { } failure)
        {
            foreach (AuthorizationFailureReason reason in failure.FailureReasons)
            {
                if (reason is OpaUnavailableReason unavailable)
                {
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    long seconds = Math.Max(1, (long)Math.Ceiling(unavailable.RetryAfter.TotalSeconds));
                    context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                    return Task.CompletedTask;
                }
            }
        }

        return inner.HandleAsync(next, context, policy, authorizeResult);
    }
}

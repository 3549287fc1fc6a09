using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>The context of <see cref="SpiffeJwtAuthenticationEvents.OnAuthenticationFailed"/>.</summary>
public sealed class SpiffeJwtAuthenticationFailedContext : ResultContext<SpiffeJwtAuthenticationOptions>
{
    /// <summary>Creates the context.</summary>
    public SpiffeJwtAuthenticationFailedContext(HttpContext context, AuthenticationScheme scheme, SpiffeJwtAuthenticationOptions options, string failureReason)
        : base(context, scheme, options)
    {
        ArgumentNullException.ThrowIfNull(failureReason);
        FailureReason = failureReason;
    }

    /// <summary>Why the token was rejected (for logs only: it may name audiences, trust domains and key IDs).</summary>
    public string FailureReason { get; }
}

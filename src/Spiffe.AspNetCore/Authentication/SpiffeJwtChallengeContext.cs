using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>The context of <see cref="SpiffeJwtAuthenticationEvents.OnChallenge"/>.</summary>
public sealed class SpiffeJwtChallengeContext : PropertiesContext<SpiffeJwtAuthenticationOptions>
{
    /// <summary>Creates the context.</summary>
    public SpiffeJwtChallengeContext(HttpContext context, AuthenticationScheme scheme, SpiffeJwtAuthenticationOptions options, AuthenticationProperties? properties)
        : base(context, scheme, options, properties)
    {
    }

    /// <summary>Why authentication failed (for logs only), or null when the request had no bearer token.</summary>
    public Exception? AuthenticateFailure { get; init; }

    /// <summary>The RFC 6750 <c>error</c> code (<c>invalid_token</c>, <c>invalid_request</c>) or null when no token was sent.</summary>
    public string? Error { get; set; }

    /// <summary>The <c>error_description</c> sent to the caller: generic on purpose, never the validation detail.</summary>
    public string? ErrorDescription { get; set; }

    /// <summary>True when an event handler wrote the response itself.</summary>
    public bool Handled { get; private set; }

    /// <summary>Skips the default 401 response (the handler wrote its own).</summary>
    public void HandleResponse() => Handled = true;
}

namespace Spiffe.AspNetCore.Authentication;

/// <summary>Events of the JWT-SVID bearer scheme.</summary>
public class SpiffeJwtAuthenticationEvents
{
    /// <summary>Invoked with the principal built from a valid JWT-SVID; may replace it or call <c>Fail</c>.</summary>
    public Func<SpiffeJwtValidatedContext, Task> OnValidated { get; set; } = NoValidatedHandler;

    /// <summary>Invoked when a bearer token is present but rejected; <see cref="SpiffeJwtAuthenticationFailedContext.FailureReason"/> says why (never sent to the caller).</summary>
    public Func<SpiffeJwtAuthenticationFailedContext, Task> OnAuthenticationFailed { get; set; } = static _ => Task.CompletedTask;

    /// <summary>Invoked before the 401 challenge is written; call <see cref="SpiffeJwtChallengeContext.HandleResponse"/> to write your own.</summary>
    public Func<SpiffeJwtChallengeContext, Task> OnChallenge { get; set; } = static _ => Task.CompletedTask;

    /// <summary>The default <see cref="OnValidated"/>: nothing to do, so the handler skips building its context.</summary>
    internal static readonly Func<SpiffeJwtValidatedContext, Task> NoValidatedHandler = static _ => Task.CompletedTask;

    /// <summary>Whether <see cref="Validated"/> would do nothing (the events are the default ones).</summary>
    internal bool ValidatedIsNoOp => GetType() == typeof(SpiffeJwtAuthenticationEvents) && ReferenceEquals(OnValidated, NoValidatedHandler);

    /// <summary>Invokes <see cref="OnValidated"/>.</summary>
    public virtual Task Validated(SpiffeJwtValidatedContext context) => OnValidated(context);

    /// <summary>Invokes <see cref="OnAuthenticationFailed"/>.</summary>
    public virtual Task AuthenticationFailed(SpiffeJwtAuthenticationFailedContext context) => OnAuthenticationFailed(context);

    /// <summary>Invokes <see cref="OnChallenge"/>.</summary>
    public virtual Task Challenge(SpiffeJwtChallengeContext context) => OnChallenge(context);
}

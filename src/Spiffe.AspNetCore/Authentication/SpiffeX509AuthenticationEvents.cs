namespace Spiffe.AspNetCore.Authentication;

/// <summary>Events of the mTLS scheme. The scheme has no failure of its own: a peer that fails verification never completes the TLS handshake.</summary>
public class SpiffeX509AuthenticationEvents
{
    /// <summary>Invoked with the principal built from the verified peer; may replace it or call <c>Fail</c>.</summary>
    public Func<SpiffeX509ValidatedContext, Task> OnValidated { get; set; } = NoValidatedHandler;

    /// <summary>The default <see cref="OnValidated"/>: nothing to do, so the handler skips building its context.</summary>
    internal static readonly Func<SpiffeX509ValidatedContext, Task> NoValidatedHandler = static _ => Task.CompletedTask;

    /// <summary>Whether <see cref="Validated"/> would do nothing (the events are the default ones).</summary>
    internal bool ValidatedIsNoOp => GetType() == typeof(SpiffeX509AuthenticationEvents) && ReferenceEquals(OnValidated, NoValidatedHandler);

    /// <summary>Invokes <see cref="OnValidated"/>.</summary>
    public virtual Task Validated(SpiffeX509ValidatedContext context) => OnValidated(context);
}

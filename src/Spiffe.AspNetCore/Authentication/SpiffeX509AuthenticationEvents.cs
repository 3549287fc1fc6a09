namespace Spiffe.AspNetCore.Authentication;

/// <summary>Events of the mTLS scheme. The scheme has no failure of its own: a peer that fails verification never completes the TLS handshake.</summary>
public class SpiffeX509AuthenticationEvents
{
    /// <summary>Invoked with the principal built from the verified peer; may replace it or call <c>Fail</c>.</summary>
    public Func<SpiffeX509ValidatedContext, Task> OnValidated { get; set; } = static _ => Task.CompletedTask;

    /// <summary>Invokes <see cref="OnValidated"/>.</summary>
    public virtual Task Validated(SpiffeX509ValidatedContext context) => OnValidated(context);
}

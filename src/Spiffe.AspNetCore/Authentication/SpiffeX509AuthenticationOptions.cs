using Microsoft.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>Options of the mTLS scheme (<c>AddSpiffeX509()</c>).</summary>
public sealed class SpiffeX509AuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>Creates options with default events.</summary>
    public SpiffeX509AuthenticationOptions()
    {
        Events = new SpiffeX509AuthenticationEvents();
    }

    /// <summary>The extension point: inspect or replace the principal, or reject the caller.</summary>
    public new SpiffeX509AuthenticationEvents Events
    {
        get => (SpiffeX509AuthenticationEvents)base.Events!;
        set => base.Events = value;
    }
}

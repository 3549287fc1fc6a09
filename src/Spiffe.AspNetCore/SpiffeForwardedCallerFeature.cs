namespace Spiffe.AspNetCore;

/// <summary>The identity a trusted proxy forwarded (see <see cref="ISpiffeForwardedCallerFeature"/>).</summary>
internal sealed class SpiffeForwardedCallerFeature(SpiffeId proxy, SpiffeId caller, string? certificateHash) : ISpiffeForwardedCallerFeature
{
    public SpiffeId ProxySpiffeId { get; } = proxy;

    public SpiffeId CallerSpiffeId { get; } = caller;

    public string? CertificateHash { get; } = certificateHash;
}

namespace Spiffe.AspNetCore;

/// <summary>
/// Which sources <c>AddSpiffe()</c> runs (<c>Spiffe:Sources</c>). An enabled source is started before
/// Kestrel accepts connections and awaited within <see cref="SpiffeOptions.StartTimeout"/>; resolving
/// a disabled one from DI throws, naming the key to set.
/// </summary>
public sealed class SpiffeSourcesOptions
{
    /// <summary>The <c>X509Source</c>: the workload's X509-SVID and X.509 bundles, for TLS (<c>Spiffe:Sources:X509</c>). Default true.</summary>
    public bool X509 { get; set; } = true;

    /// <summary>The <c>JwtSource</c>: JWT-SVIDs for outgoing calls and JWT bundles to validate incoming ones (<c>Spiffe:Sources:Jwt</c>). Default false.</summary>
    public bool Jwt { get; set; }

    /// <summary>The <c>BundleSource</c>: X.509 and JWT bundles only, for workloads without an identity of their own (<c>Spiffe:Sources:Bundles</c>). Default false.</summary>
    public bool Bundles { get; set; }
}

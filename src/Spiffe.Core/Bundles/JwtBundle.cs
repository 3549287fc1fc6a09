namespace Spiffe.Bundles;

/// <summary>PLACEHOLDER: the JWT authorities of one trust domain (to be completed).</summary>
public sealed class JwtBundle
{
    /// <summary>Creates an empty bundle.</summary>
    public JwtBundle(TrustDomain trustDomain) => TrustDomain = trustDomain;

    /// <summary>The trust domain.</summary>
    public TrustDomain TrustDomain { get; }
}

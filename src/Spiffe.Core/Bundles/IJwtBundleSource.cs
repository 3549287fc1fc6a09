namespace Spiffe.Bundles;

/// <summary>Something that can hand out the JWT bundle of a trust domain (a bundle, a set, a Workload API source).</summary>
public interface IJwtBundleSource
{
    /// <summary>The current JWT bundle of <paramref name="trustDomain"/>, or null when there is none (its JWT-SVIDs are then untrusted).</summary>
    JwtBundle? GetJwtBundle(TrustDomain trustDomain);
}

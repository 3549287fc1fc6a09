namespace Spiffe.Bundles;

/// <summary>Something that can hand out the X.509 bundle of a trust domain (a bundle, a set, a Workload API source).</summary>
public interface IX509BundleSource
{
    /// <summary>The current X.509 bundle of <paramref name="trustDomain"/>, or null when there is none (its SVIDs are then untrusted).</summary>
    X509Bundle? GetX509Bundle(TrustDomain trustDomain);
}

namespace Spiffe.Bundles;

/// <summary>
/// SPIFFE bundles keyed by trust domain (e.g. federated bundles). Immutable; each trust domain's
/// X.509 and JWT authorities stay bound to it. The set does not own the bundles: dispose them yourself.
/// </summary>
public sealed class SpiffeBundleSet : IX509BundleSource, IJwtBundleSource
{
    private readonly Dictionary<TrustDomain, SpiffeBundle> _bundles;

    /// <summary>Creates a set from bundles.</summary>
    /// <exception cref="ArgumentException">Two bundles are for the same trust domain.</exception>
    public SpiffeBundleSet(IEnumerable<SpiffeBundle> bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        _bundles = [];
        foreach (SpiffeBundle bundle in bundles)
        {
            ArgumentNullException.ThrowIfNull(bundle, nameof(bundles));
            if (!_bundles.TryAdd(bundle.TrustDomain, bundle))
            {
                throw new ArgumentException($"Two SPIFFE bundles are for trust domain {bundle.TrustDomain}; a set holds one bundle per trust domain.", nameof(bundles));
            }
        }
    }

    /// <summary>The number of trust domains in the set.</summary>
    public int Count => _bundles.Count;

    /// <summary>The bundles, in no particular order.</summary>
    public IReadOnlyCollection<SpiffeBundle> Bundles => _bundles.Values;

    /// <summary>The SPIFFE bundle of <paramref name="trustDomain"/>, or null when the set has none.</summary>
    public SpiffeBundle? GetSpiffeBundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _bundles.GetValueOrDefault(trustDomain);
    }

    /// <summary>The X.509 part of <paramref name="trustDomain"/>'s bundle, or null when the set has none.</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain) => GetSpiffeBundle(trustDomain)?.GetX509Bundle(trustDomain);

    /// <summary>The JWT part of <paramref name="trustDomain"/>'s bundle, or null when the set has none.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain) => GetSpiffeBundle(trustDomain)?.GetJwtBundle(trustDomain);

    /// <summary>The number of trust domains.</summary>
    public override string ToString() => $"SpiffeBundleSet({_bundles.Count} trust domains)";
}

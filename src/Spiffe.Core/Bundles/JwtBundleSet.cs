namespace Spiffe.Bundles;

/// <summary>
/// JWT bundles keyed by trust domain, e.g. the local and federated bundles from the Workload API.
/// Immutable; lookups never merge bundles of different trust domains.
/// </summary>
/// <remarks>
/// <code>
/// var set = new JwtBundleSet([localBundle, partnerBundle]);
/// JwtSvid svid = JwtSvid.ParseAndValidate(token, set, ["my-service"]);
/// </code>
/// </remarks>
public sealed class JwtBundleSet : IJwtBundleSetSource
{
    private readonly Dictionary<TrustDomain, JwtBundle> _bundles;

    /// <summary>Creates a set from bundles.</summary>
    /// <exception cref="ArgumentException">Two bundles are for the same trust domain.</exception>
    public JwtBundleSet(IEnumerable<JwtBundle> bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        _bundles = [];
        foreach (JwtBundle bundle in bundles)
        {
            ArgumentNullException.ThrowIfNull(bundle, nameof(bundles));
            if (!_bundles.TryAdd(bundle.TrustDomain, bundle))
            {
                throw new ArgumentException($"Two JWT bundles are for trust domain {bundle.TrustDomain}; a set holds one bundle per trust domain.", nameof(bundles));
            }
        }
    }

    /// <summary>The number of trust domains in the set.</summary>
    public int Count => _bundles.Count;

    /// <summary>The bundles, in no particular order.</summary>
    public IReadOnlyCollection<JwtBundle> Bundles => _bundles.Values;

    /// <summary>The bundle of <paramref name="trustDomain"/>, or null when the set has none.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _bundles.GetValueOrDefault(trustDomain);
    }

    /// <summary>This set (a fixed set is its own source).</summary>
    public JwtBundleSet GetJwtBundleSet() => this;

    /// <summary>The number of trust domains.</summary>
    public override string ToString() => $"JwtBundleSet({_bundles.Count} trust domains)";
}

using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Spiffe.Bundles;

/// <summary>
/// An immutable set of X.509 bundles, at most one per trust domain: the usual source for a
/// validator that trusts its own trust domain and some federated ones. Bundles are kept apart
/// and looked up by trust domain; their roots are never pooled.
/// </summary>
/// <remarks>
/// The set does not own the bundles: disposing them stays with whoever created them.
/// <code>
/// var bundles = new X509BundleSet([localBundle, partnerBundle]);
/// var validator = new X509SvidValidator(bundles);
/// </code>
/// </remarks>
public sealed class X509BundleSet : IX509BundleSetSource, IReadOnlyCollection<X509Bundle>
{
    private readonly X509Bundle[] _bundles;
    private readonly Dictionary<TrustDomain, X509Bundle> _byTrustDomain;

    /// <summary>Creates a set from bundles of distinct trust domains.</summary>
    /// <exception cref="ArgumentException">Two bundles are for the same trust domain.</exception>
    public X509BundleSet(IEnumerable<X509Bundle> bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        _bundles = [.. bundles];
        _byTrustDomain = new Dictionary<TrustDomain, X509Bundle>(_bundles.Length);
        foreach (X509Bundle bundle in _bundles)
        {
            ArgumentNullException.ThrowIfNull(bundle, nameof(bundles));
            if (!_byTrustDomain.TryAdd(bundle.TrustDomain, bundle))
            {
                throw new ArgumentException($"More than one X.509 bundle for trust domain '{bundle.TrustDomain}'; a set holds one bundle per trust domain.", nameof(bundles));
            }
        }
    }

    /// <summary>The number of bundles (trust domains).</summary>
    public int Count => _bundles.Length;

    /// <summary>Gets the bundle of <paramref name="trustDomain"/>.</summary>
    public bool TryGet(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _byTrustDomain.TryGetValue(trustDomain, out bundle);
    }

    /// <summary>The bundle of <paramref name="trustDomain"/>, or null when the set has none.</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _byTrustDomain.GetValueOrDefault(trustDomain);
    }

    /// <summary>This set.</summary>
    public X509BundleSet GetX509BundleSet() => this;

    /// <summary>Enumerates the bundles in the order they were given.</summary>
    public IEnumerator<X509Bundle> GetEnumerator() => ((IEnumerable<X509Bundle>)_bundles).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The trust domains in the set.</summary>
    public override string ToString() => $"X509BundleSet({string.Join(", ", _bundles.Select(b => b.TrustDomain.Name))})";
}

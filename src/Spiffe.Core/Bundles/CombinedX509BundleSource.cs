namespace Spiffe.Bundles;

/// <summary>
/// Several X.509 bundle sources seen as one, e.g. the Workload API's own and federated bundles
/// together with bundles fetched from federation endpoints or read from files. Each trust domain
/// keeps its own bundle: the first source (in the order given) that has a bundle for a trust
/// domain answers for it; roots of different trust domains are never pooled.
/// </summary>
/// <remarks>
/// <para>
/// Put the most authoritative source first (usually the Workload API's <c>X509Source</c>): when
/// two sources know the same trust domain, only the first one's bundle is used.
/// <see cref="GetX509BundleSet"/> returns the same instance for as long as every source returns
/// the same set instance, so the TLS glue rebuilds its chain policy only when a bundle changes.
/// Thread-safe; the sources are not owned (disposing them stays with their creator).
/// </para>
/// <code>
/// var bundles = new CombinedX509BundleSource(x509Source, federatedBundles);
/// listen.UseSpiffeMtls(x509Source, bundles, SpiffeIdAuthorizer.MemberOf(partnerDomain));
/// </code>
/// </remarks>
public sealed class CombinedX509BundleSource : IX509BundleSetSource
{
    private readonly IX509BundleSetSource[] _sources;
    private volatile Snapshot? _snapshot;

    /// <summary>Combines <paramref name="sources"/>; earlier sources win for a trust domain they share.</summary>
    /// <exception cref="ArgumentException">No source, or a null one.</exception>
    public CombinedX509BundleSource(params IEnumerable<IX509BundleSetSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = [.. sources];
        if (_sources.Length == 0)
        {
            throw new ArgumentException("Give at least one bundle source.", nameof(sources));
        }

        foreach (IX509BundleSetSource source in _sources)
        {
            ArgumentNullException.ThrowIfNull(source, nameof(sources));
        }
    }

    /// <summary>The bundle of <paramref name="trustDomain"/> from the first source that has one; null when none has.</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        foreach (IX509BundleSetSource source in _sources)
        {
            if (source.GetX509Bundle(trustDomain) is { } bundle)
            {
                return bundle;
            }
        }

        return null;
    }

    /// <summary>Every trust domain's bundle, one per trust domain (the first source's when several have one).</summary>
    public X509BundleSet GetX509BundleSet()
    {
        var inputs = new X509BundleSet[_sources.Length];
        for (int i = 0; i < _sources.Length; i++)
        {
            inputs[i] = _sources[i].GetX509BundleSet();
        }

        Snapshot? snapshot = _snapshot;
        if (snapshot is not null && SameInputs(snapshot.Inputs, inputs))
        {
            return snapshot.Combined;
        }

        var byTrustDomain = new Dictionary<TrustDomain, X509Bundle>();
        var ordered = new List<X509Bundle>();
        foreach (X509BundleSet set in inputs)
        {
            foreach (X509Bundle bundle in set)
            {
                if (byTrustDomain.TryAdd(bundle.TrustDomain, bundle))
                {
                    ordered.Add(bundle);
                }
            }
        }

        var combined = new X509BundleSet(ordered);

        // Two threads may build equal sets at once; either is correct, and the next call settles on one.
        _snapshot = new Snapshot(inputs, combined);
        return combined;
    }

    /// <summary>The number of sources.</summary>
    public override string ToString() => $"CombinedX509BundleSource({_sources.Length} sources)";

    private static bool SameInputs(X509BundleSet[] previous, X509BundleSet[] current)
    {
        for (int i = 0; i < previous.Length; i++)
        {
            if (!ReferenceEquals(previous[i], current[i]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed record Snapshot(X509BundleSet[] Inputs, X509BundleSet Combined);
}

namespace Spiffe.Bundles;

/// <summary>
/// Several JWT bundle sources seen as one, e.g. the Workload API's JWT bundles together with
/// bundles fetched from federation endpoints or read from files. The first source (in the order
/// given) that has a bundle for a trust domain answers for it; keys of different trust domains
/// are never mixed. Thread-safe; the sources are not owned.
/// </summary>
/// <remarks>
/// <code>
/// var bundles = new CombinedJwtBundleSource(jwtSource, federatedBundles);
/// JwtSvid caller = JwtSvid.ParseAndValidate(token, bundles, ["my-service"]);
/// </code>
/// </remarks>
public sealed class CombinedJwtBundleSource : IJwtBundleSource
{
    private readonly IJwtBundleSource[] _sources;

    /// <summary>Combines <paramref name="sources"/>; earlier sources win for a trust domain they share.</summary>
    /// <exception cref="ArgumentException">No source, or a null one.</exception>
    public CombinedJwtBundleSource(params IEnumerable<IJwtBundleSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = [.. sources];
        if (_sources.Length == 0)
        {
            throw new ArgumentException("Give at least one bundle source.", nameof(sources));
        }

        foreach (IJwtBundleSource source in _sources)
        {
            ArgumentNullException.ThrowIfNull(source, nameof(sources));
        }
    }

    /// <summary>The JWT bundle of <paramref name="trustDomain"/> from the first source that has one; null when none has.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        foreach (IJwtBundleSource source in _sources)
        {
            if (source.GetJwtBundle(trustDomain) is { } bundle)
            {
                return bundle;
            }
        }

        return null;
    }

    /// <summary>The number of sources.</summary>
    public override string ToString() => $"CombinedJwtBundleSource({_sources.Length} sources)";
}

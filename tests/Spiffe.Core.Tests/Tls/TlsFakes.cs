using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.Core.Tests.Tls;

/// <summary>An SVID source whose SVID a test swaps; no SVID means <see cref="GetX509Svid"/> throws, like a source before its first update.</summary>
internal sealed class MutableSvidSource(X509Svid? svid = null) : IX509SvidSource
{
    private volatile X509Svid? _svid = svid;

    public X509Svid? Svid
    {
        get => _svid;
        set => _svid = value;
    }

    public X509Svid GetX509Svid() => _svid ?? throw new SpiffeException("No X509-SVID yet (test source).");
}

/// <summary>A bundle source whose bundle set a test swaps.</summary>
internal sealed class MutableBundleSource(params X509Bundle[] bundles) : IX509BundleSetSource
{
    private volatile X509BundleSet _bundles = new(bundles);

    public X509BundleSet Bundles
    {
        get => _bundles;
        set => _bundles = value;
    }

    public X509BundleSet GetX509BundleSet() => _bundles;

    public X509Bundle? GetX509Bundle(TrustDomain trustDomain) => _bundles.GetX509Bundle(trustDomain);
}

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

/// <summary>An <see cref="System.Diagnostics.Metrics.IMeterFactory"/> like the host's: meters scoped to it, disposed with it.</summary>
internal sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
{
    private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

    public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var meter = new System.Diagnostics.Metrics.Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (System.Diagnostics.Metrics.Meter meter in _meters)
            {
                meter.Dispose();
            }

            _meters.Clear();
        }
    }
}

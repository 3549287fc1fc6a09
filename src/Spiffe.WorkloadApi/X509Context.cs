using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.WorkloadApi;

/// <summary>
/// One complete X.509 state from the Workload API: the workload's X509-SVIDs (the first is the
/// default identity) and the bundles to authenticate peers with (its own trust domain's and the
/// federated ones). Every SVID in it has been validated.
/// </summary>
public sealed class X509Context : IDisposable
{
    private static int s_live;
    private int _disposed;

    internal X509Context(IReadOnlyList<X509Svid> svids, X509BundleSet bundles)
    {
        Svids = svids;
        Bundles = bundles;
        Interlocked.Increment(ref s_live);
    }

    /// <summary>Contexts created and not yet disposed in this process (a leak check for tests).</summary>
    internal static int LiveCount => Volatile.Read(ref s_live);

    /// <summary>The SVIDs in the order the agent sent them; never empty.</summary>
    public IReadOnlyList<X509Svid> Svids { get; }

    /// <summary>The default SVID: the first one (SPIFFE_Workload_API.md §8).</summary>
    public X509Svid DefaultSvid => Svids[0];

    /// <summary>The X.509 bundles, own trust domain and federated, keyed by trust domain.</summary>
    public X509BundleSet Bundles { get; }

    /// <summary>The first SVID with <paramref name="hint"/>, or null (duplicate hints: the first wins).</summary>
    public X509Svid? FindByHint(string hint)
    {
        ArgumentNullException.ThrowIfNull(hint);
        foreach (X509Svid svid in Svids)
        {
            if (string.Equals(svid.Hint, hint, StringComparison.Ordinal))
            {
                return svid;
            }
        }

        return null;
    }

    /// <summary>The SVID IDs and bundle trust domains; no key material.</summary>
    public override string ToString() =>
        $"X509Context(svids: [{string.Join(", ", Svids.Select(static s => s.Id.ToString()))}], bundles: {Bundles.Count})";

    /// <summary>Releases the native handles of every certificate and key in this state.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Interlocked.Decrement(ref s_live);
        foreach (X509Svid svid in Svids)
        {
            svid.Dispose();
        }

        foreach (X509Bundle bundle in Bundles)
        {
            bundle.Dispose();
        }
    }
}

using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.WorkloadApi;

/// <summary>
/// One complete X.509 state from the Workload API: the workload's X509-SVIDs (the first is the
/// default identity) and the bundles to authenticate peers with (its own trust domain's and the
/// federated ones). Every SVID in it has been validated.
/// </summary>
/// <remarks>
/// Ownership: a context handed out by an <see cref="X509Source"/> (<see cref="X509Source.GetX509Context"/>,
/// <see cref="X509Source.WaitForUpdateAsync"/>, <see cref="X509SourceUpdatedEventArgs"/>) belongs to
/// the source, with its SVIDs and bundles: <see cref="Dispose"/> does nothing on it, and the source
/// never disposes it, so it stays readable after later rotations (the finalizers release it once
/// nothing refers to it). A context from <see cref="WorkloadApiClient"/> (a fetch or a watch) is
/// the caller's, and <see cref="Dispose"/> releases it. Use <see cref="X509Svid.Copy"/> or
/// <see cref="X509Bundle.Copy"/> for instances whose lifetime you control.
/// </remarks>
public sealed class X509Context : IDisposable
{
    private static int s_live;
    private int _released;
    private volatile bool _ownedBySource;

    internal X509Context(IReadOnlyList<X509Svid> svids, X509BundleSet bundles)
    {
        Svids = svids;
        Bundles = bundles;
        Interlocked.Increment(ref s_live);
    }

    /// <summary>Contexts created and neither disposed by their owner nor let go by their source (a leak check for tests).</summary>
    internal static int LiveCount => Volatile.Read(ref s_live);

    /// <summary>The SVIDs in the order the agent sent them; never empty.</summary>
    public IReadOnlyList<X509Svid> Svids { get; }

    /// <summary>The default SVID: the first one (SPIFFE_Workload_API.md §8).</summary>
    public X509Svid DefaultSvid => Svids[0];

    /// <summary>The X.509 bundles, own trust domain and federated, keyed by trust domain.</summary>
    public X509BundleSet Bundles { get; }

    /// <summary>Whether this context belongs to a source: <see cref="Dispose"/> then does nothing.</summary>
    public bool IsOwnedBySource => _ownedBySource;

    /// <summary>
    /// The SVID the source chose from this context (default, hint or picker), published with it as
    /// one snapshot, so a reader never pairs a context with another context's SVID.
    /// </summary>
    internal X509Svid? Selected { get; private set; }

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

    /// <summary>Releases the native handles of every certificate and key in this state, unless it belongs to a source (then nothing happens).</summary>
    public void Dispose()
    {
        if (_ownedBySource || Interlocked.Exchange(ref _released, 1) != 0)
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

    /// <summary>
    /// Makes this context, its SVIDs and its bundles the source's (their Dispose does nothing from
    /// now on) and records the SVID the source chose, before the context is published.
    /// </summary>
    internal void TakeForSource(X509Svid selected)
    {
        foreach (X509Svid svid in Svids)
        {
            svid.MarkOwnedBySource();
        }

        foreach (X509Bundle bundle in Bundles)
        {
            bundle.MarkOwnedBySource();
        }

        Selected = selected;
        _ownedBySource = true;
    }

    /// <summary>
    /// The source lets go of this context: a context it published is left to the finalizers (holders
    /// may still read it); one it refused is disposed.
    /// </summary>
    internal void ReleaseFromSource()
    {
        if (!_ownedBySource)
        {
            Dispose();
            return;
        }

        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            Interlocked.Decrement(ref s_live);
        }
    }
}

namespace Spiffe.Bundles;

/// <summary>
/// A bundle source that can also list every X.509 bundle it holds right now. TLS needs the list:
/// the peer chain is built once, by <c>SslStream</c>, against every trusted authority, and the
/// anchor is then checked against the bundle of the peer's own trust domain.
/// </summary>
/// <remarks>
/// Implementations return the same <see cref="X509BundleSet"/> instance for as long as the
/// bundles do not change, so callers can cache what they derive from it (compared by reference).
/// </remarks>
public interface IX509BundleSetSource : IX509BundleSource
{
    /// <summary>The current bundles, one per trust domain; empty when none is trusted.</summary>
    X509BundleSet GetX509BundleSet();
}

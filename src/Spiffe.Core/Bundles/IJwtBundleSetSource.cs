namespace Spiffe.Bundles;

/// <summary>A JWT bundle source that can also list every JWT bundle it holds right now (the JWT twin of <see cref="IX509BundleSetSource"/>).</summary>
/// <remarks>Implementations return the same <see cref="JwtBundleSet"/> instance for as long as the bundles do not change.</remarks>
public interface IJwtBundleSetSource : IJwtBundleSource
{
    /// <summary>The current JWT bundles, one per trust domain.</summary>
    JwtBundleSet GetJwtBundleSet();
}

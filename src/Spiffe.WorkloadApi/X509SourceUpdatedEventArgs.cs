namespace Spiffe.WorkloadApi;

/// <summary>Carries the state an <see cref="X509Source"/> has just switched to.</summary>
public sealed class X509SourceUpdatedEventArgs(X509Context context) : EventArgs
{
    /// <summary>The new state.</summary>
    public X509Context Context { get; } = context;
}

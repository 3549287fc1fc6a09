namespace Spiffe.Testing;

/// <summary>Describes an issuance of X509-SVIDs by a <see cref="DevelopmentAgent"/>.</summary>
public sealed class DevelopmentAgentRotatedEventArgs(int generation, IReadOnlyList<(SpiffeId Id, string Serial, DateTimeOffset NotAfter)> svids) : EventArgs
{
    /// <summary>1 for the first issuance, then one more per rotation.</summary>
    public int Generation { get; } = generation;

    /// <summary>The SVIDs issued, with their serial numbers and expiry.</summary>
    public IReadOnlyList<(SpiffeId Id, string Serial, DateTimeOffset NotAfter)> Svids { get; } = svids;
}

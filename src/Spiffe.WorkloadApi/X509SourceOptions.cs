using Spiffe.X509;

namespace Spiffe.WorkloadApi;

/// <summary>Options of an <see cref="X509Source"/>.</summary>
public sealed class X509SourceOptions
{
    /// <summary>
    /// An existing client to use; the source does not dispose it. When null the source creates its
    /// own client from <see cref="ClientOptions"/> and disposes it with itself.
    /// </summary>
    public WorkloadApiClient? Client { get; set; }

    /// <summary>Options for the client the source creates when <see cref="Client"/> is null.</summary>
    public WorkloadApiClientOptions ClientOptions { get; set; } = new();

    /// <summary>Use the first SVID with this hint instead of the default (first) one. An update without it is discarded.</summary>
    public string? Hint { get; set; }

    /// <summary>Chooses the SVID to use from each update; overrides <see cref="Hint"/>. Must return one of the given SVIDs.</summary>
    public Func<IReadOnlyList<X509Svid>, X509Svid>? Picker { get; set; }

    /// <summary>How long <see cref="X509Source.CreateAsync"/> waits for the first valid SVID. Default 30 s; <see cref="Timeout.InfiniteTimeSpan"/> waits until cancelled.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

namespace Spiffe.WorkloadApi;

/// <summary>Options of a <see cref="BundleSource"/>.</summary>
public sealed class BundleSourceOptions
{
    /// <summary>An existing client to use (not disposed by the source); when null the source creates and owns one from <see cref="ClientOptions"/>.</summary>
    public WorkloadApiClient? Client { get; set; }

    /// <summary>Options for the client the source creates when <see cref="Client"/> is null.</summary>
    public WorkloadApiClientOptions ClientOptions { get; set; } = new();

    /// <summary>How long <see cref="BundleSource.CreateAsync"/> waits for the first X.509 and JWT bundles. Default 30 s.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

using Spiffe.Files;

namespace Spiffe.AspNetCore;

/// <summary>
/// The workload's X509-SVID from files instead of the Workload API (<c>Spiffe:Files</c>): with
/// <see cref="Directory"/> set, <c>AddSpiffe()</c> runs a <see cref="FileX509Source"/> and registers it
/// as <c>IX509SvidSource</c>, <c>IX509BundleSetSource</c> and <c>IX509BundleSource</c>, so
/// <c>listen.UseSpiffeMtls()</c>, the health check and everything else that takes those from DI use
/// the files. The Workload API <c>X509Source</c> is then not run (<c>Spiffe:Sources:X509</c> is ignored).
/// </summary>
/// <remarks>
/// <code>
/// "Spiffe": { "Files": { "Directory": "/var/run/secrets/spiffe.io" } }                       // csi-driver-spiffe
/// "Spiffe": { "Files": { "Directory": "/run/spiffe", "Layout": "SpiffeHelper" } }          // spiffe-helper, spiffe x509 fetch --write
/// </code>
/// </remarks>
public sealed class SpiffeFilesOptions
{
    /// <summary>The directory holding the SVID, key and bundle files (<c>Spiffe:Files:Directory</c>); null or empty: no file source.</summary>
    public string? Directory { get; set; }

    /// <summary>Whose file names to use when a name is not set (<c>Spiffe:Files:Layout</c>): <c>CsiDriverSpiffe</c> (default) or <c>SpiffeHelper</c>.</summary>
    public FileSvidLayout Layout { get; set; }

    /// <summary>The SVID chain's file name in <see cref="Directory"/> (<c>Spiffe:Files:CertificateFileName</c>); null: the layout's.</summary>
    public string? CertificateFileName { get; set; }

    /// <summary>The private key's file name in <see cref="Directory"/> (<c>Spiffe:Files:PrivateKeyFileName</c>); null: the layout's.</summary>
    public string? PrivateKeyFileName { get; set; }

    /// <summary>The trust bundle's file name in <see cref="Directory"/> (<c>Spiffe:Files:BundleFileName</c>); null: the layout's.</summary>
    public string? BundleFileName { get; set; }

    /// <summary>A directory of federated bundles, <c>&lt;trust-domain&gt;.pem</c> or <c>.json</c> (<c>Spiffe:Files:FederatedBundlesDirectory</c>); optional.</summary>
    public string? FederatedBundlesDirectory { get; set; }

    /// <summary>How often the files are read again whatever the directory watcher says (<c>Spiffe:Files:PollInterval</c>). Default 10 s; more than 0.</summary>
    public TimeSpan PollInterval { get; set; } = FileX509SourceOptions.DefaultPollInterval;

    internal bool Enabled => !string.IsNullOrWhiteSpace(Directory);
}

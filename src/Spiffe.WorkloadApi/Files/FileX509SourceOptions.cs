using Microsoft.Extensions.Logging;

namespace Spiffe.Files;

/// <summary>
/// Options of a <see cref="FileX509Source"/>: where the SVID, its key and the bundle are, and how
/// changes are noticed. Bindable from configuration (every setting is a string, enum or time span
/// except <see cref="TimeProvider"/> and <see cref="LoggerFactory"/>).
/// </summary>
/// <remarks>
/// <code>
/// await using var source = await FileX509Source.CreateAsync(new FileX509SourceOptions { Directory = "/var/run/secrets/spiffe.io" });
/// </code>
/// </remarks>
public sealed class FileX509SourceOptions
{
    /// <summary>The default <see cref="PollInterval"/>: 10 seconds.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(10);

    /// <summary>The default <see cref="Debounce"/>: 250 milliseconds.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(250);

    /// <summary>The directory holding the files (a Kubernetes volume mount, spiffe-helper's <c>cert_dir</c>). Required.</summary>
    public string? Directory { get; set; }

    /// <summary>Which tool's default file names to use when a name below is not set. Default <see cref="FileSvidLayout.CsiDriverSpiffe"/>.</summary>
    public FileSvidLayout Layout { get; set; }

    /// <summary>The PEM file with the SVID's certificates, leaf first; null uses the <see cref="Layout"/>'s name (<c>tls.crt</c> or <c>svid.pem</c>).</summary>
    public string? CertificateFileName { get; set; }

    /// <summary>The PEM file with the SVID's private key (PKCS#8, SEC 1 or PKCS#1, unencrypted); null uses the <see cref="Layout"/>'s name (<c>tls.key</c> or <c>svid_key.pem</c>).</summary>
    public string? PrivateKeyFileName { get; set; }

    /// <summary>The PEM file with the CA certificates of the SVID's own trust domain; null uses the <see cref="Layout"/>'s name (<c>ca.crt</c> or <c>svid_bundle.pem</c>).</summary>
    public string? BundleFileName { get; set; }

    /// <summary>
    /// An optional directory of federated bundles, one file per trust domain:
    /// <c>&lt;trust-domain&gt;.pem</c> (CA certificates) or <c>&lt;trust-domain&gt;.json</c> (a SPIFFE
    /// bundle document, whose JWT authorities <see cref="FileX509Source.GetJwtBundle"/> serves). Other
    /// files are ignored. Removing a file removes that trust domain.
    /// </summary>
    public string? FederatedBundlesDirectory { get; set; }

    /// <summary>Whether to watch the directories for changes (FileSystemWatcher); polling runs either way. Default true.</summary>
    public bool WatchForChanges { get; set; } = true;

    /// <summary>How often the files are read again whatever the watcher says (the fallback for file systems without change notification); <see cref="Timeout.InfiniteTimeSpan"/> turns polling off. Default 10 s.</summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    /// <summary>How long to wait after a change notification, and after each further one, before reading the files (a writer changes several files). Default 250 ms.</summary>
    public TimeSpan Debounce { get; set; } = DefaultDebounce;

    /// <summary>How long <see cref="FileX509Source.CreateAsync"/> waits for a valid set of files. Default 30 s; <see cref="Timeout.InfiniteTimeSpan"/> waits until cancelled.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock for certificate validity, debouncing and polling; <see cref="TimeProvider.System"/> when null.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Where the source logs why a set of files was rejected; no logging when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal string CertificatePath => Path.Combine(Directory!, CertificateFileName ?? (Layout == FileSvidLayout.SpiffeHelper ? "svid.pem" : "tls.crt"));

    internal string PrivateKeyPath => Path.Combine(Directory!, PrivateKeyFileName ?? (Layout == FileSvidLayout.SpiffeHelper ? "svid_key.pem" : "tls.key"));

    internal string BundlePath => Path.Combine(Directory!, BundleFileName ?? (Layout == FileSvidLayout.SpiffeHelper ? "svid_bundle.pem" : "ca.crt"));

    internal FileX509SourceOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("FileX509SourceOptions.Directory is required: the directory holding the SVID, key and bundle files.");
        }

        if (!Enum.IsDefined(Layout))
        {
            throw new ArgumentException($"FileX509SourceOptions.Layout {Layout} is not a known layout.");
        }

        FileWatchSettings.Check(PollInterval, Debounce, StartTimeout, nameof(FileX509SourceOptions));
        return new FileX509SourceOptions
        {
            Directory = Path.GetFullPath(Directory),
            Layout = Layout,
            CertificateFileName = CertificateFileName,
            PrivateKeyFileName = PrivateKeyFileName,
            BundleFileName = BundleFileName,
            FederatedBundlesDirectory = string.IsNullOrWhiteSpace(FederatedBundlesDirectory) ? null : Path.GetFullPath(FederatedBundlesDirectory),
            WatchForChanges = WatchForChanges,
            PollInterval = PollInterval,
            Debounce = Debounce,
            StartTimeout = StartTimeout,
            TimeProvider = TimeProvider ?? TimeProvider.System,
            LoggerFactory = LoggerFactory,
        };
    }
}

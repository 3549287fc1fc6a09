using Microsoft.Extensions.Logging;

namespace Spiffe.Files;

/// <summary>Options of a <see cref="FileJwtBundleSource"/>: the file, its trust domain, and how changes are noticed.</summary>
public sealed class FileJwtBundleSourceOptions
{
    /// <summary>The trust domain whose JWT authorities the file holds (a bundle document does not name it). Required.</summary>
    public string? TrustDomain { get; set; }

    /// <summary>The file: a JWK Set or a SPIFFE bundle document. Required.</summary>
    public string? Path { get; set; }

    /// <summary>Whether to watch the file's directory for changes; polling runs either way. Default true.</summary>
    public bool WatchForChanges { get; set; } = true;

    /// <summary>How often the file is read again; <see cref="Timeout.InfiniteTimeSpan"/> turns polling off. Default 10 s.</summary>
    public TimeSpan PollInterval { get; set; } = FileX509SourceOptions.DefaultPollInterval;

    /// <summary>How long to wait after a change notification before reading the file. Default 250 ms.</summary>
    public TimeSpan Debounce { get; set; } = FileX509SourceOptions.DefaultDebounce;

    /// <summary>How long <see cref="FileJwtBundleSource.CreateAsync"/> waits for a valid file. Default 30 s.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock for debouncing and polling; <see cref="TimeProvider.System"/> when null.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Where the source logs why a file was rejected; no logging when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal TrustDomain ParsedTrustDomain { get; private set; } = null!;

    internal FileJwtBundleSourceOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(TrustDomain) || !Spiffe.TrustDomain.TryParse(TrustDomain, out TrustDomain? trustDomain))
        {
            throw new ArgumentException($"FileJwtBundleSourceOptions.TrustDomain '{TrustDomain}' is not a trust domain name (e.g. example.org).");
        }

        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException("FileJwtBundleSourceOptions.Path is required: the JWK Set or SPIFFE bundle file.");
        }

        FileWatchSettings.Check(PollInterval, Debounce, StartTimeout, nameof(FileJwtBundleSourceOptions));
        return new FileJwtBundleSourceOptions
        {
            TrustDomain = TrustDomain,
            ParsedTrustDomain = trustDomain,
            Path = System.IO.Path.GetFullPath(Path),
            WatchForChanges = WatchForChanges,
            PollInterval = PollInterval,
            Debounce = Debounce,
            StartTimeout = StartTimeout,
            TimeProvider = TimeProvider ?? System.TimeProvider.System,
            LoggerFactory = LoggerFactory,
        };
    }
}

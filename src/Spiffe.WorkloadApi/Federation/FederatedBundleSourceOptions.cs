using Microsoft.Extensions.Logging;

namespace Spiffe.Federation;

/// <summary>Options of a <see cref="FederatedBundleSource"/>: the relationships and the refresh policy.</summary>
public sealed class FederatedBundleSourceOptions
{
    /// <summary>The refresh interval when a bundle has no <c>spiffe_refresh_hint</c>: 5 minutes (SPIFFE Federation §4.1).</summary>
    public static readonly TimeSpan DefaultRefreshIntervalValue = TimeSpan.FromMinutes(5);

    /// <summary>The foreign trust domains to fetch, at most one relationship per trust domain.</summary>
    public IList<FederationRelationship> Relationships { get; } = [];

    /// <summary>How long to wait between fetches when the bundle has no refresh hint. Default 5 minutes.</summary>
    public TimeSpan DefaultRefreshInterval { get; set; } = DefaultRefreshIntervalValue;

    /// <summary>The floor of the refresh interval: a smaller <c>spiffe_refresh_hint</c> is raised to it. Default 30 s.</summary>
    public TimeSpan MinRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The ceiling of the refresh interval: a larger <c>spiffe_refresh_hint</c> is lowered to it. Default 1 hour.</summary>
    public TimeSpan MaxRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long one fetch may take. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock for refresh timers and request timeouts; <see cref="TimeProvider.System"/> when null.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Where the source logs fetches and why a fetched bundle was refused; no logging when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal (FederationRelationship[] Relationships, FederatedBundleSourceOptions Options) Validate()
    {
        if (MinRefreshInterval <= TimeSpan.Zero || MaxRefreshInterval < MinRefreshInterval)
        {
            throw new ArgumentException("FederatedBundleSourceOptions: MinRefreshInterval must be positive and not above MaxRefreshInterval.");
        }

        if (DefaultRefreshInterval <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("FederatedBundleSourceOptions: DefaultRefreshInterval and RequestTimeout must be positive.");
        }

        var relationships = new FederationRelationship[Relationships.Count];
        var trustDomains = new HashSet<TrustDomain>();
        for (int i = 0; i < relationships.Length; i++)
        {
            FederationRelationship relationship = Relationships[i] ?? throw new ArgumentException($"FederatedBundleSourceOptions.Relationships[{i}] is null.");
            relationships[i] = relationship.Validate(i);
            if (!trustDomains.Add(relationships[i].TrustDomain!))
            {
                throw new ArgumentException($"FederatedBundleSourceOptions.Relationships has two relationships for {relationships[i].TrustDomain}; a trust domain has one bundle endpoint.");
            }
        }

        var copy = new FederatedBundleSourceOptions
        {
            DefaultRefreshInterval = DefaultRefreshInterval,
            MinRefreshInterval = MinRefreshInterval,
            MaxRefreshInterval = MaxRefreshInterval,
            RequestTimeout = RequestTimeout,
            TimeProvider = TimeProvider ?? System.TimeProvider.System,
            LoggerFactory = LoggerFactory,
        };
        return (relationships, copy);
    }

    /// <summary>The interval until the next fetch for a bundle with <paramref name="refreshHint"/>, within the floor and ceiling.</summary>
    internal TimeSpan RefreshInterval(TimeSpan? refreshHint)
    {
        TimeSpan interval = refreshHint ?? DefaultRefreshInterval;
        return interval < MinRefreshInterval ? MinRefreshInterval : interval > MaxRefreshInterval ? MaxRefreshInterval : interval;
    }
}

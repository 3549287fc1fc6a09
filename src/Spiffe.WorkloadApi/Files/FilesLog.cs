using Microsoft.Extensions.Logging;

namespace Spiffe.Files;

/// <summary>Log events of the file sources (event IDs 200-219).</summary>
internal static partial class FilesLog
{
    [LoggerMessage(200, LogLevel.Information, "SVID files in {Directory} loaded: {SpiffeId} serial {Serial} expires {NotAfter:o}; {BundleCount} trust domain(s)")]
    public static partial void SvidLoaded(ILogger logger, string directory, string spiffeId, string serial, DateTimeOffset notAfter, int bundleCount);

    [LoggerMessage(201, LogLevel.Warning, "Files rejected, the last good set stays in force (a later change or poll reads them again): {Reason}")]
    public static partial void Rejected(ILogger logger, string reason);

    [LoggerMessage(202, LogLevel.Debug, "Files still rejected: {Reason}")]
    public static partial void StillRejected(ILogger logger, string reason);

    [LoggerMessage(203, LogLevel.Information, "Federated bundles from {Directory}: trust domains {TrustDomains}")]
    public static partial void FederatedLoaded(ILogger logger, string directory, string trustDomains);

    [LoggerMessage(204, LogLevel.Information, "JWT bundle of {TrustDomain} loaded from {Path}: {KeyCount} key(s)")]
    public static partial void JwtBundleLoaded(ILogger logger, string trustDomain, string path, int keyCount);

    [LoggerMessage(205, LogLevel.Debug, "Cannot watch {Directory} for changes yet ({Message}); polling only")]
    public static partial void WatchUnavailable(ILogger logger, string directory, string message);

    [LoggerMessage(206, LogLevel.Warning, "Reading the files failed unexpectedly; the last good set stays in force")]
    public static partial void ReloadFailed(ILogger logger, Exception exception);

    [LoggerMessage(207, LogLevel.Warning, "An Updated event handler threw; other handlers still ran")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);
}

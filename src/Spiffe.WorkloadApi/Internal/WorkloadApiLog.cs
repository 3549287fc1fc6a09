using Microsoft.Extensions.Logging;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>Log messages of the Workload API client and sources. IDs, serials and expiry only: never key material.</summary>
internal static partial class WorkloadApiLog
{
    [LoggerMessage(1, LogLevel.Information, "X.509 update from {Address}: default SVID {SpiffeId} serial {Serial} expires {NotAfter:o}; {SvidCount} SVID(s), {BundleCount} bundle(s)")]
    public static partial void X509Updated(ILogger logger, string address, string spiffeId, string serial, DateTimeOffset notAfter, int svidCount, int bundleCount);

    [LoggerMessage(2, LogLevel.Information, "{Kind} bundles update from {Address}: trust domains {TrustDomains}")]
    public static partial void BundlesUpdated(ILogger logger, string kind, string address, string trustDomains);

    [LoggerMessage(3, LogLevel.Warning, "Workload API watch error ({Kind}); retrying: {Message}")]
    public static partial void RetryableError(ILogger logger, WorkloadApiErrorKind kind, string message);

    [LoggerMessage(4, LogLevel.Error, "Workload API watch stopped ({Kind}): {Message}")]
    public static partial void FatalError(ILogger logger, WorkloadApiErrorKind kind, string message);

    [LoggerMessage(5, LogLevel.Warning, "Discarded a Workload API response; the previous state stays in force: {Message}")]
    public static partial void Discarded(ILogger logger, string message);

    [LoggerMessage(6, LogLevel.Warning, "The Workload API denied this workload an identity; SVIDs and bundles withdrawn until it is granted again: {Message}")]
    public static partial void Withdrawn(ILogger logger, string message);

    [LoggerMessage(7, LogLevel.Warning, "An Updated event handler threw; other handlers still ran")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Debug, "JWT-SVID for {SpiffeId} audiences {Audiences} fetched; expires {ExpiresAt:o}")]
    public static partial void JwtSvidFetched(ILogger logger, string spiffeId, string audiences, DateTimeOffset expiresAt);

    // 20+: robustness of the watch loop (issue 8). IDs 9-19 are left for the sources' own events.
    [LoggerMessage(20, LogLevel.Error, "Parsing a {Operation} message from {Address} threw an exception type the parser does not document; the message is discarded and the previous state stays in force")]
    public static partial void ParseFaulted(ILogger logger, string operation, string address, Exception exception);

    [LoggerMessage(21, LogLevel.Error, "The {Operation} watch of {Address} failed unexpectedly; the stream is reopened after backoff")]
    public static partial void WatchFaulted(ILogger logger, string operation, string address, Exception exception);
}

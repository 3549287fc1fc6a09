using Microsoft.Extensions.Logging;

namespace Spiffe.Federation;

/// <summary>Log events of the federation bundle client (event IDs 220-239).</summary>
internal static partial class FederationLog
{
    [LoggerMessage(220, LogLevel.Information, "Bundle of {TrustDomain} fetched from {Url}: sequence {Sequence}, {X509Count} X.509 and {JwtCount} JWT authorities; next fetch in {Interval}")]
    public static partial void Fetched(ILogger logger, string trustDomain, Uri url, string sequence, int x509Count, int jwtCount, TimeSpan interval);

    [LoggerMessage(221, LogLevel.Warning, "Fetching the bundle of {TrustDomain} from {Url} failed; the last good bundle stays, next attempt in {Interval}: {Reason}")]
    public static partial void FetchFailed(ILogger logger, string trustDomain, Uri url, TimeSpan interval, string reason);

    [LoggerMessage(222, LogLevel.Debug, "Bundle of {TrustDomain} from {Url} unchanged; next fetch in {Interval}")]
    public static partial void Unchanged(ILogger logger, string trustDomain, Uri url, TimeSpan interval);

    [LoggerMessage(223, LogLevel.Warning, "An Updated event handler threw; other handlers still ran")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);
}

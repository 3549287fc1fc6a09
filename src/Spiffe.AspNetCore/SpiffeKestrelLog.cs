using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore;

/// <summary>Log messages of the Kestrel endpoint glue (event IDs 310-319, listed in docs/telemetry.md).</summary>
internal static partial class SpiffeKestrelLog
{
    [LoggerMessage(310, LogLevel.Information, "Kestrel endpoint {Endpoint}: HTTP/3 removed from its protocols ({Configured} -> {Used}); SPIFFE TLS is configured per connection, which Kestrel supports only over TCP (HTTP/1.1, HTTP/2)")]
    public static partial void Http3Removed(ILogger logger, string endpoint, HttpProtocols configured, HttpProtocols used);
}

using Microsoft.Extensions.Logging;

namespace Spiffe.Tls;

/// <summary>
/// Log messages of the TLS handshake glue (event IDs 300-309, listed in docs/telemetry.md). SPIFFE
/// IDs, endpoints and chain status only: never key material.
/// </summary>
internal static partial class SpiffeTlsLog
{
    // Warning: a refusal is a security event an operator must see at the default level (Information),
    // and it is not the normal path (a scanner or a misconfigured peer is worth noticing).
    [LoggerMessage(300, LogLevel.Warning, "TLS {Role} refused the peer {Peer}: {Reason}; presented SPIFFE ID {SpiffeId}; {Detail}")]
    public static partial void HandshakeRefused(ILogger logger, string role, string peer, string reason, string spiffeId, string detail);

    [LoggerMessage(301, LogLevel.Debug, "TLS {Role}: accepted {SpiffeId} from {Peer} on its leaf alone (a resumed session, or a peer that sent no intermediates), validated in full earlier against the current bundles")]
    public static partial void AcceptedFromEarlierValidation(ILogger logger, string role, string spiffeId, string peer);

    [LoggerMessage(302, LogLevel.Error, "TLS {Role}: the SpiffeTlsOptions.PeerRefused callback threw; the refusal stands")]
    public static partial void PeerRefusedCallbackFailed(ILogger logger, string role, Exception exception);
}

using Spiffe.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Audit;

/// <summary>
/// One entry of the SPIFFE audit trail: a request that reached a SPIFFE scheme (exactly one per
/// request) or a refused TLS handshake. Immutable. Never holds a token, a key or a certificate body:
/// identities are SPIFFE IDs, the JWT-SVID appears as its subject and audiences only.
/// </summary>
public sealed class SpiffeAuditEvent
{
    /// <summary>A request or a refused handshake.</summary>
    public SpiffeAuditEventKind Kind { get; init; }

    /// <summary>When the request arrived (or the handshake was refused).</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>The caller: the JWT-SVID's subject when one was validated, else the mTLS peer; null when unauthenticated.</summary>
    public SpiffeId? CallerId { get; init; }

    /// <summary>The mTLS peer this connection's handshake verified; for a refused handshake, the SPIFFE ID the peer presented, when its leaf had a valid one.</summary>
    public SpiffeId? PeerId { get; init; }

    /// <summary>The trusted proxy the caller's identity came through (a forwarded client certificate); null when the caller connected directly.</summary>
    public SpiffeId? ProxyId { get; init; }

    /// <summary>How the caller was authenticated.</summary>
    public SpiffeAuditAuthentication Authentication { get; init; }

    /// <summary>The validated JWT-SVID's subject (<c>sub</c>), when one was presented and accepted.</summary>
    public SpiffeId? JwtSubject { get; init; }

    /// <summary>The validated JWT-SVID's audiences (<c>aud</c>); empty without one.</summary>
    public IReadOnlyList<string> JwtAudience { get; init; } = [];

    /// <summary>The HTTP method.</summary>
    public string? Method { get; init; }

    /// <summary>The route template of the endpoint that served the request (e.g. <c>/v1/payments/{id}</c>), when routing found one.</summary>
    public string? RouteTemplate { get; init; }

    /// <summary>The request path (without the query string).</summary>
    public string? Path { get; init; }

    /// <summary>The response status code (500 when the app threw before responding).</summary>
    public int? StatusCode { get; init; }

    /// <summary>From the request's arrival at the audit middleware to the end of the app's processing.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The authorization middleware's decision.</summary>
    public SpiffeAuditDecision Decision { get; init; }

    /// <summary>The policy the authorization middleware evaluated (names as in <c>spiffe.authorization.decisions</c>).</summary>
    public string? PolicyName { get; init; }

    /// <summary>The decision that decided: the first denial of a denied request (null when no source denied it: a requirement refused it and <see cref="Reason"/> says why), else the last allowing decision (null when no source recorded one).</summary>
    public SpiffeAuthorizationDecision? DecisionSource { get; init; }

    /// <summary>Every decision recorded for the request (<see cref="ISpiffeAuthorizationDecisionFeature"/>), in order.</summary>
    public IReadOnlyList<SpiffeAuthorizationDecision> Decisions { get; init; } = [];

    /// <summary>Why the request was denied, or the refused handshake's detail (no secrets).</summary>
    public string? Reason { get; init; }

    /// <summary>For a refused handshake: the reason tag (<c>no_certificate</c>, <c>untrusted_chain</c>, <c>not_authorized</c>…).</summary>
    public string? RefusalReason { get; init; }

    /// <summary>The request body's size: its declared <c>Content-Length</c>, else the bytes the app read.</summary>
    public long? RequestBytes { get; init; }

    /// <summary>The bytes of response body the app wrote.</summary>
    public long? ResponseBytes { get; init; }

    /// <summary>The client's address and port.</summary>
    public string? RemoteAddress { get; init; }

    /// <summary>The request's trace identifier (<c>HttpContext.TraceIdentifier</c>), for correlation with other logs.</summary>
    public string? TraceIdentifier { get; init; }
}

namespace Spiffe.Tls;

/// <summary>
/// A TLS peer refused by a <see cref="SpiffeTlsServer"/> or <see cref="SpiffeTlsClient"/>, as passed to
/// <see cref="SpiffeTlsOptions.PeerRefused"/>: the same facts as the refusal log (event 300), never key
/// material or a certificate body.
/// </summary>
public sealed class TlsPeerRefusal
{
    internal TlsPeerRefusal(string role, string reason, SpiffeId? presentedId, string? peer, string detail)
    {
        Role = role;
        Reason = reason;
        PresentedId = presentedId;
        Peer = peer;
        Detail = detail;
    }

    /// <summary>This side of the handshake: <c>server</c> (a client was refused) or <c>client</c>.</summary>
    public string Role { get; }

    /// <summary>Why: the <c>reason</c> tag of <c>spiffe.tls.handshakes</c> (<c>no_certificate</c>, <c>not_an_svid</c>, <c>no_bundle</c>, <c>untrusted_chain</c>, <c>expired</c>, <c>not_authorized</c>).</summary>
    public string Reason { get; }

    /// <summary>The SPIFFE ID the peer's leaf carried, when it had a valid one.</summary>
    public SpiffeId? PresentedId { get; }

    /// <summary>The peer's address (server side, when known) or host name (client side); null when unknown.</summary>
    public string? Peer { get; }

    /// <summary>A description of the failure (no key material).</summary>
    public string Detail { get; }

    /// <summary>Describes the refusal.</summary>
    public override string ToString() => $"{Role} refused {Peer ?? "(unknown)"}: {Reason}; presented {PresentedId?.ToString() ?? "(none)"}; {Detail}";
}

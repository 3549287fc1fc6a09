namespace Spiffe.Tls;

/// <summary>
/// Why a TLS peer was refused. The snake_case names are the <c>reason</c> tag of the
/// <c>spiffe.tls.handshakes</c> counter and appear in the refusal log line (docs/telemetry.md).
/// </summary>
internal enum TlsRefusalReason
{
    /// <summary>The peer presented no certificate.</summary>
    NoCertificate,

    /// <summary>The peer's leaf is not an X509-SVID (no single SPIFFE ID URI SAN, a CA, wrong key usage...).</summary>
    NotAnSvid,

    /// <summary>No X.509 bundle is trusted for the peer's trust domain.</summary>
    NoBundle,

    /// <summary>The certificates the peer presented do not chain to the bundle of its own trust domain.</summary>
    UntrustedChain,

    /// <summary>The chain is complete but a certificate in it is expired or not yet valid.</summary>
    Expired,

    /// <summary>The SVID is valid but the authorizer does not allow its SPIFFE ID.</summary>
    NotAuthorized,
}

internal static class TlsRefusalReasonNames
{
    internal static string ToTagValue(this TlsRefusalReason reason) => reason switch
    {
        TlsRefusalReason.NoCertificate => "no_certificate",
        TlsRefusalReason.NotAnSvid => "not_an_svid",
        TlsRefusalReason.NoBundle => "no_bundle",
        TlsRefusalReason.UntrustedChain => "untrusted_chain",
        TlsRefusalReason.Expired => "expired",
        TlsRefusalReason.NotAuthorized => "not_authorized",
        _ => "unknown",
    };
}

/// <summary>
/// One refused peer: the reason, the SPIFFE ID it presented when its leaf had one, and a detail
/// (no key material) that reads after "the SVID": "does not chain to the bundle of example.org ...",
/// except for <see cref="TlsRefusalReason.NoCertificate"/> and <see cref="TlsRefusalReason.NotAnSvid"/>,
/// where it describes the certificate.
/// </summary>
internal sealed record TlsRefusal(TlsRefusalReason Reason, SpiffeId? PresentedId, string Detail);

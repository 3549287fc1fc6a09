namespace Spiffe.X509;

/// <summary>Why an X509-SVID was rejected, as parsed from the Workload API or presented by a peer.</summary>
public enum X509SvidErrorKind
{
    /// <summary>No error: the SVID is valid.</summary>
    None = 0,

    /// <summary>The input is not a well-formed certificate chain (empty, not DER, or a malformed extension).</summary>
    Malformed,

    /// <summary>The leaf does not have exactly one URI SAN (X509-SVID §2), or has an empty subject with a non-critical SAN extension (§3.1).</summary>
    UriSan,

    /// <summary>The URI SAN is not a valid SPIFFE ID, or it has no path (X509-SVID §3.1, §5.2).</summary>
    InvalidSpiffeId,

    /// <summary>The leaf is a CA certificate: <c>cA=true</c>, or Key Usage sets <c>keyCertSign</c>/<c>cRLSign</c> (X509-SVID §3.2, §4.1, §4.3, §5.2).</summary>
    LeafIsCertificateAuthority,

    /// <summary>The leaf has no Key Usage extension or lacks <c>digitalSignature</c> (X509-SVID §4.3).</summary>
    KeyUsage,

    /// <summary>The leaf has an Extended Key Usage extension without both <c>serverAuth</c> and <c>clientAuth</c> (X509-SVID §4.4).</summary>
    ExtendedKeyUsage,

    /// <summary>A certificate that signs the leaf or another intermediate is not a CA with <c>keyCertSign</c> (X509-SVID §3.2, §4.1, §4.3).</summary>
    SigningCertificate,

    /// <summary>The leaf's key is not RSA or ECDSA on P-256, P-384 or P-521.</summary>
    UnsupportedKeyType,

    /// <summary>The private key is malformed or does not match the leaf's public key.</summary>
    PrivateKey,

    /// <summary>There is no X.509 bundle for the leaf's trust domain, so nothing of that trust domain is trusted.</summary>
    NoBundle,

    /// <summary>RFC 5280 path validation against the trust domain's bundle failed (unknown issuer, expired or not yet valid, bad signature, constraint violation).</summary>
    UntrustedChain,
}

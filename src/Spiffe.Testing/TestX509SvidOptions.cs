using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Spiffe.Testing;

/// <summary>
/// How <see cref="TestCertificateAuthority"/> mints an X509-SVID. The defaults give a valid SVID
/// shaped like SPIRE's; every property can be set to produce deliberately broken material.
/// </summary>
public sealed class TestX509SvidOptions
{
    /// <summary>The standard EKU of X509-SVIDs: serverAuth and clientAuth.</summary>
    public static IReadOnlyList<string> ServerAndClientAuth { get; } = ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"];

    /// <summary>The leaf key type. Default ECDSA P-256.</summary>
    public TestKeyType KeyType { get; set; } = TestKeyType.EcdsaP256;

    /// <summary>The leaf's NotBefore. Default: now minus one minute.</summary>
    public DateTimeOffset? NotBefore { get; set; }

    /// <summary>The leaf's NotAfter. Default: <see cref="TimeToLive"/> from now (or from <see cref="NotBefore"/> when that is set).</summary>
    public DateTimeOffset? NotAfter { get; set; }

    /// <summary>The lifetime used when <see cref="NotAfter"/> is not set. Default one hour.</summary>
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The URI SANs, written verbatim (any string, no normalisation). Null means one URI SAN with
    /// the SPIFFE ID passed to the mint method; empty means none.
    /// </summary>
    public IReadOnlyList<string>? UriSans { get; set; }

    /// <summary>DNS SANs to add.</summary>
    public IReadOnlyList<string> DnsNames { get; set; } = [];

    /// <summary>IP address SANs to add.</summary>
    public IReadOnlyList<IPAddress> IPAddresses { get; set; } = [];

    /// <summary>Email (rfc822Name) SANs to add.</summary>
    public IReadOnlyList<string> EmailAddresses { get; set; } = [];

    /// <summary>Whether the SAN extension is critical. Null means critical only when the subject is empty.</summary>
    public bool? SubjectAlternativeNameCritical { get; set; }

    /// <summary>The subject distinguished name; the empty string gives an empty subject. Default <c>O=SPIFFE</c>.</summary>
    public string Subject { get; set; } = "O=SPIFFE";

    /// <summary>The Key Usage bits, or null to omit the extension. Default digitalSignature.</summary>
    public X509KeyUsageFlags? KeyUsage { get; set; } = X509KeyUsageFlags.DigitalSignature;

    /// <summary>Whether the Key Usage extension is critical. Default true.</summary>
    public bool KeyUsageCritical { get; set; } = true;

    /// <summary>The EKU purpose OIDs; empty omits the extension. Default <see cref="ServerAndClientAuth"/>.</summary>
    public IReadOnlyList<string> ExtendedKeyUsages { get; set; } = ServerAndClientAuth;

    /// <summary>Whether the EKU extension is critical. Default false.</summary>
    public bool ExtendedKeyUsageCritical { get; set; }

    /// <summary>Whether to add a Basic Constraints extension. Default true.</summary>
    public bool IncludeBasicConstraints { get; set; } = true;

    /// <summary>Basic Constraints cA=true on the leaf (a CA certificate posing as an SVID). Default false.</summary>
    public bool CertificateAuthority { get; set; }

    /// <summary>
    /// Whether the intermediate (when the authority has one) signs the leaf and follows it in the
    /// chain. False signs the leaf with the root directly. Default true.
    /// </summary>
    public bool SignWithIntermediate { get; set; } = true;

    /// <summary>When the authority has an intermediate, sign with it but leave it out of the chain. Default false.</summary>
    public bool OmitIntermediateFromChain { get; set; }

    /// <summary>Return a private key that does not match the leaf (raw material only). Default false.</summary>
    public bool WrongPrivateKey { get; set; }

    /// <summary>
    /// Extensions added to the leaf exactly as given, after all others: for deliberately malformed
    /// material, e.g. a Key Usage whose value has trailing data (set <see cref="KeyUsage"/> to null
    /// and add <c>new X509Extension("2.5.29.15", [0x03, 0x02, 0x07, 0x80, 0x03, 0x02, 0x07, 0x80], true)</c>).
    /// Default none.
    /// </summary>
    public IReadOnlyList<X509Extension> AdditionalExtensions { get; set; } = [];
}

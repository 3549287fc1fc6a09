using System.Security.Cryptography.X509Certificates;

namespace Spiffe.Testing;

/// <summary>How a <see cref="TestCertificateAuthority"/> builds its root and optional intermediate.</summary>
public sealed class TestCertificateAuthorityOptions
{
    /// <summary>The key type of the root and the intermediate. Default ECDSA P-256.</summary>
    public TestKeyType KeyType { get; set; } = TestKeyType.EcdsaP256;

    /// <summary>Whether to create an intermediate CA that signs the SVIDs. Default false.</summary>
    public bool WithIntermediate { get; set; }

    /// <summary>The clock that defines "now" for default validity periods. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>The CA certificates' NotBefore. Default: now minus one hour.</summary>
    public DateTimeOffset? NotBefore { get; set; }

    /// <summary>The root's NotAfter. Default: now plus one year.</summary>
    public DateTimeOffset? NotAfter { get; set; }

    /// <summary>The intermediate's NotAfter (e.g. in the past for an expired intermediate). Default: the root's NotAfter.</summary>
    public DateTimeOffset? IntermediateNotAfter { get; set; }

    /// <summary>A pathLenConstraint for the root's Basic Constraints; null for none.</summary>
    public int? RootPathLengthConstraint { get; set; }

    /// <summary>The intermediate's URI SANs, written verbatim. Null means the trust domain ID (<c>spiffe://td</c>); empty means none.</summary>
    public IReadOnlyList<string>? IntermediateUriSans { get; set; }

    /// <summary>Whether the intermediate has Basic Constraints cA=true. Default true; false makes a broken chain.</summary>
    public bool IntermediateIsCertificateAuthority { get; set; } = true;

    /// <summary>The intermediate's Key Usage. Default keyCertSign | cRLSign | digitalSignature; without keyCertSign the chain is broken.</summary>
    public X509KeyUsageFlags IntermediateKeyUsage { get; set; } =
        X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature;

    /// <summary>
    /// Host names for a critical Name Constraints extension on the intermediate with URI
    /// permittedSubtrees (RFC 5280 §4.2.1.10; SPIFFE X509-SVID §4.2), e.g. <c>["example.org"]</c>.
    /// Null (the default) means no Name Constraints extension.
    /// </summary>
    public IReadOnlyList<string>? IntermediatePermittedUriHosts { get; set; }
}

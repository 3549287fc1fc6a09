using System.Net;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Core.Tests.X509;

/// <summary>
/// Leaf certificates that meet or break the X509-SVID leaf rules (SPIFFE-RULES A2), shared by the
/// holder tests (X509Svid.Parse) and the peer-validation tests (X509SvidValidator): both must
/// reach the same verdict. Keys are "R{rule} description" so a failing row names its rule.
/// </summary>
internal static class SvidCases
{
    internal const string TrustDomainName = "example.org";
    internal const string DefaultId = "spiffe://example.org/ns/prod/sa/web";

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private const string CodeSigning = "1.3.6.1.5.5.7.3.3";

    private static readonly Dictionary<string, (Func<TestX509SvidOptions> Options, X509SvidErrorKind Expected)> s_cases = new()
    {
        // Accepted.
        ["R20 exactly one spiffe URI SAN"] = (() => new(), X509SvidErrorKind.None),
        ["R22 URI plus DNS, IP and email SANs"] = (() => new() { DnsNames = ["web.example.org"], IPAddresses = [IPAddress.Loopback, IPAddress.IPv6Loopback], EmailAddresses = ["web@example.org"] }, X509SvidErrorKind.None),
        ["R23 deep path"] = (() => new() { UriSans = ["spiffe://example.org/a/b/c/d"] }, X509SvidErrorKind.None),
        ["R24 edge-case valid path characters"] = (() => new() { UriSans = ["spiffe://example.org/Path.With-Mixed_Case/..x/.hidden"] }, X509SvidErrorKind.None),
        ["R25 empty subject with critical SAN"] = (() => new() { Subject = string.Empty, SubjectAlternativeNameCritical = true }, X509SvidErrorKind.None),
        ["R26 no Basic Constraints extension"] = (() => new() { IncludeBasicConstraints = false }, X509SvidErrorKind.None),
        ["R28 non-critical Key Usage (Z8 accepts)"] = (() => new() { KeyUsageCritical = false }, X509SvidErrorKind.None),
        ["R29 digitalSignature keyEncipherment keyAgreement"] = (() => new() { KeyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyAgreement }, X509SvidErrorKind.None),
        ["R30 no EKU extension"] = (() => new() { ExtendedKeyUsages = [] }, X509SvidErrorKind.None),
        ["R30 critical EKU serverAuth clientAuth"] = (() => new() { ExtendedKeyUsages = [ServerAuth, ClientAuth], ExtendedKeyUsageCritical = true }, X509SvidErrorKind.None),
        ["R30 EKU with an extra purpose"] = (() => new() { ExtendedKeyUsages = [ClientAuth, CodeSigning, ServerAuth] }, X509SvidErrorKind.None),

        // Rejected.
        ["R20 two spiffe URI SANs"] = (() => new() { UriSans = [DefaultId, "spiffe://example.org/other"] }, X509SvidErrorKind.UriSan),
        ["R20 spiffe and https URI SANs"] = (() => new() { UriSans = [DefaultId, "https://example.org/x"] }, X509SvidErrorKind.UriSan),
        ["R21 DNS SAN only"] = (() => new() { UriSans = [], DnsNames = ["web.example.org"] }, X509SvidErrorKind.UriSan),
        ["R21 no SAN extension"] = (() => new() { UriSans = [] }, X509SvidErrorKind.UriSan),
        ["R23 trust domain ID without path"] = (() => new() { UriSans = ["spiffe://example.org"] }, X509SvidErrorKind.InvalidSpiffeId),
        ["R24 https scheme"] = (() => new() { UriSans = ["https://example.org/x"] }, X509SvidErrorKind.InvalidSpiffeId),
        ["R24 query"] = (() => new() { UriSans = ["spiffe://example.org/a?x=1"] }, X509SvidErrorKind.InvalidSpiffeId),
        ["R24 percent-encoding"] = (() => new() { UriSans = ["spiffe://example.org/%41"] }, X509SvidErrorKind.InvalidSpiffeId),
        ["R24 trailing slash"] = (() => new() { UriSans = ["spiffe://example.org/a/"] }, X509SvidErrorKind.InvalidSpiffeId),
        ["R24 port"] = (() => new() { UriSans = ["spiffe://example.org:8080/a"] }, X509SvidErrorKind.InvalidSpiffeId),
        ["R24 uppercase trust domain"] = (() => new() { UriSans = ["spiffe://Example.org/a"] }, X509SvidErrorKind.InvalidSpiffeId),
        ["R24 non-ASCII byte"] = (() => new() { UriSans = ["spiffe://example.org/ä"] }, X509SvidErrorKind.InvalidSpiffeId),
        ["R25 empty subject with non-critical SAN"] = (() => new() { Subject = string.Empty, SubjectAlternativeNameCritical = false }, X509SvidErrorKind.UriSan),
        ["R26 leaf with cA=true"] = (() => new() { CertificateAuthority = true }, X509SvidErrorKind.LeafIsCertificateAuthority),
        ["R27 keyCertSign on leaf"] = (() => new() { KeyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign }, X509SvidErrorKind.LeafIsCertificateAuthority),
        ["R27 cRLSign on leaf"] = (() => new() { KeyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.CrlSign }, X509SvidErrorKind.LeafIsCertificateAuthority),
        ["R28 no Key Usage extension"] = (() => new() { KeyUsage = null }, X509SvidErrorKind.KeyUsage),
        ["R29 keyAgreement only"] = (() => new() { KeyUsage = X509KeyUsageFlags.KeyAgreement }, X509SvidErrorKind.KeyUsage),
        ["R30 EKU codeSigning only"] = (() => new() { ExtendedKeyUsages = [CodeSigning] }, X509SvidErrorKind.ExtendedKeyUsage),
        ["R30 EKU clientAuth only (Z8 strict)"] = (() => new() { ExtendedKeyUsages = [ClientAuth] }, X509SvidErrorKind.ExtendedKeyUsage),
        ["R30 EKU serverAuth only (Z8 strict)"] = (() => new() { ExtendedKeyUsages = [ServerAuth] }, X509SvidErrorKind.ExtendedKeyUsage),
    };

    internal static TheoryData<string, X509SvidErrorKind> All
    {
        get
        {
            var data = new TheoryData<string, X509SvidErrorKind>();
            foreach ((string name, (_, X509SvidErrorKind expected)) in s_cases)
            {
                data.Add(name, expected);
            }

            return data;
        }
    }

    internal static TrustDomain TrustDomain => TrustDomain.Parse(TrustDomainName);

    internal static SpiffeId Id => SpiffeId.Parse(DefaultId);

    internal static TestX509SvidOptions Options(string name) => s_cases[name].Options();
}

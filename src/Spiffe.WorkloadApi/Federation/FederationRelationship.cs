using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;

namespace Spiffe.Federation;

/// <summary>
/// One foreign trust domain whose bundle is fetched from its bundle endpoint: the trust domain,
/// the endpoint URL and the profile are all required and independent (SPIFFE Federation §5.1:
/// none is derived from another).
/// </summary>
/// <remarks>
/// <code>
/// new FederationRelationship
/// {
///     TrustDomain = TrustDomain.Parse("partner.example"),
///     EndpointUrl = new Uri("https://bundle.partner.example/bundle"),
///     Profile = BundleEndpointProfile.HttpsSpiffe,
///     EndpointSpiffeId = SpiffeId.Parse("spiffe://partner.example/spire/server"),
///     BootstrapBundle = SpiffeBundle.Parse(TrustDomain.Parse("partner.example"), File.ReadAllBytes("partner.json")),
/// };
/// </code>
/// </remarks>
public sealed class FederationRelationship
{
    /// <summary>The trust domain whose bundle the endpoint serves. Required.</summary>
    public TrustDomain? TrustDomain { get; set; }

    /// <summary>The bundle endpoint URL: <c>https</c>, no user information (§5.2.1.1, §5.2.2.1). Required.</summary>
    public Uri? EndpointUrl { get; set; }

    /// <summary>How the endpoint server is authenticated. Required.</summary>
    public BundleEndpointProfile Profile { get; set; }

    /// <summary>For <see cref="BundleEndpointProfile.HttpsSpiffe"/>: the SPIFFE ID the endpoint server must present. Required for that profile.</summary>
    public SpiffeId? EndpointSpiffeId { get; set; }

    /// <summary>
    /// For <see cref="BundleEndpointProfile.HttpsSpiffe"/>: the bundle that authenticates the endpoint
    /// server until a better one is known, obtained securely out of band (§5.2.2.2). When the
    /// endpoint serves its own trust domain, it is also that trust domain's bundle until the first
    /// fetch, and each fetched bundle then authenticates the next fetch. The caller keeps ownership.
    /// </summary>
    public SpiffeBundle? BootstrapBundle { get; set; }

    /// <summary>
    /// For <see cref="BundleEndpointProfile.HttpsSpiffe"/> when the endpoint server's SPIFFE ID is in
    /// another trust domain than <see cref="TrustDomain"/>: where the current bundle of the server's
    /// trust domain comes from (e.g. the Workload API's <c>X509Source</c>), preferred over
    /// <see cref="BootstrapBundle"/> (§5.2.2.4).
    /// </summary>
    public IX509BundleSource? EndpointBundleSource { get; set; }

    /// <summary>
    /// For <see cref="BundleEndpointProfile.HttpsWeb"/>: trust only these CA certificates instead of
    /// the system trust store (tests, a private web PKI). Null (the default, and what production
    /// with a public CA uses) means the system trust store. The host name is checked either way.
    /// </summary>
    public X509Certificate2Collection? WebTrustRoots { get; set; }

    internal FederationRelationship Validate(int index)
    {
        string name = $"FederatedBundleSourceOptions.Relationships[{index}]";
        if (TrustDomain is null)
        {
            throw new ArgumentException($"{name}.TrustDomain is required: the trust domain is configured, never derived from the URL (SPIFFE Federation §5.1).");
        }

        if (EndpointUrl is null || !EndpointUrl.IsAbsoluteUri)
        {
            throw new ArgumentException($"{name}.EndpointUrl is required and must be an absolute https URL.");
        }

        if (!string.Equals(EndpointUrl.Scheme, Uri.UriSchemeHttps, StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name}.EndpointUrl '{EndpointUrl}' must use https (SPIFFE Federation §5.2.1.1, §5.2.2.1).");
        }

        if (EndpointUrl.UserInfo.Length != 0)
        {
            throw new ArgumentException($"{name}.EndpointUrl must not contain user information (SPIFFE Federation §5.2.1.1, §5.2.2.1).");
        }

        switch (Profile)
        {
            case BundleEndpointProfile.HttpsWeb:
                break;
            case BundleEndpointProfile.HttpsSpiffe:
                if (EndpointSpiffeId is null)
                {
                    throw new ArgumentException($"{name}.EndpointSpiffeId is required with the https_spiffe profile (SPIFFE Federation §5.2.2.2).");
                }

                if (BootstrapBundle is null && EndpointBundleSource is null)
                {
                    throw new ArgumentException($"{name} needs a BootstrapBundle or an EndpointBundleSource with the https_spiffe profile: the bundle that authenticates the endpoint server (SPIFFE Federation §5.2.2.2).");
                }

                if (BootstrapBundle is not null && !BootstrapBundle.TrustDomain.Equals(EndpointSpiffeId.TrustDomain))
                {
                    throw new ArgumentException($"{name}.BootstrapBundle is for {BootstrapBundle.TrustDomain}; it must be the bundle of the endpoint server's trust domain, {EndpointSpiffeId.TrustDomain}.");
                }

                break;
            default:
                throw new ArgumentException($"{name}.Profile is required: HttpsWeb or HttpsSpiffe (SPIFFE Federation §5.1; the profile is never inferred).");
        }

        return new FederationRelationship
        {
            TrustDomain = TrustDomain,
            EndpointUrl = EndpointUrl,
            Profile = Profile,
            EndpointSpiffeId = EndpointSpiffeId,
            BootstrapBundle = BootstrapBundle,
            EndpointBundleSource = EndpointBundleSource,
            WebTrustRoots = WebTrustRoots is null ? null : [.. WebTrustRoots],
        };
    }

    /// <summary>The trust domain, URL and profile.</summary>
    public override string ToString() => $"FederationRelationship({TrustDomain}, {EndpointUrl}, {Profile})";
}

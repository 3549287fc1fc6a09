namespace Spiffe.Federation;

/// <summary>
/// How a federation client authenticates a bundle endpoint server (SPIFFE Federation §5.2). It is
/// configured, never inferred from the URL, and there is no fallback from one to the other.
/// </summary>
public enum BundleEndpointProfile
{
    /// <summary>Web PKI (§5.2.1): the server's certificate must chain to a trusted CA (the system trust store) and name the URL's host.</summary>
    HttpsWeb = 1,

    /// <summary>SPIFFE authentication (§5.2.2): the server must present an X509-SVID with the configured endpoint SPIFFE ID, validated with the bundle of that ID's trust domain.</summary>
    HttpsSpiffe = 2,
}

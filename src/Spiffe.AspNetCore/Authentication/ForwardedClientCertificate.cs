namespace Spiffe.AspNetCore.Authentication;

/// <summary>
/// One element of an Envoy <c>x-forwarded-client-cert</c> header: what one proxy recorded about the
/// client certificate it verified. Values are as sent (quotes removed, escapes resolved); the
/// URL-encoded PEM of <c>Cert</c>/<c>Chain</c> is kept encoded and never decoded or logged.
/// </summary>
internal sealed record ForwardedClientCertificate(
    string? By,
    string? Hash,
    string? Cert,
    string? Chain,
    string? Subject,
    string? Uri,
    IReadOnlyList<string> Dns);

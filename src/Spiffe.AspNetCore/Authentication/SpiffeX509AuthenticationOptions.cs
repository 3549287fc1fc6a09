using Microsoft.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>Options of the mTLS scheme (<c>AddSpiffeX509()</c>).</summary>
public sealed class SpiffeX509AuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>Creates options with default events.</summary>
    public SpiffeX509AuthenticationOptions()
    {
        Events = new SpiffeX509AuthenticationEvents();
    }

    /// <summary>The extension point: inspect or replace the principal, or reject the caller.</summary>
    public new SpiffeX509AuthenticationEvents Events
    {
        get => (SpiffeX509AuthenticationEvents)base.Events!;
        set => base.Events = value;
    }

    /// <summary>
    /// The proxies (e.g. Envoy sidecars or gateways) whose <c>x-forwarded-client-cert</c> header is
    /// believed: when this connection's verified mTLS peer is allowed here, the caller is the SPIFFE ID
    /// in the <c>URI</c> of the header's last element (the one that proxy added), and the principal
    /// also carries the proxy (<see cref="SpiffeClaimTypes.ProxySpiffeId"/>, <see cref="ISpiffeForwardedCallerFeature"/>).
    /// A malformed header from such a proxy fails authentication; a proxy request without the header
    /// authenticates the proxy itself. From any other peer the header is ignored and logged.
    /// Default null: no proxy is trusted. The header name is fixed; no other header ever carries identity.
    /// </summary>
    /// <example><c>o.TrustedProxies = SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/ns/mesh/sa/envoy"));</c></example>
    public SpiffeIdAuthorizer? TrustedProxies { get; set; }
}

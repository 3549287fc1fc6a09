using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>The context of <see cref="SpiffeX509AuthenticationEvents.OnValidated"/>.</summary>
public sealed class SpiffeX509ValidatedContext : ResultContext<SpiffeX509AuthenticationOptions>
{
    /// <summary>Creates the context.</summary>
    public SpiffeX509ValidatedContext(HttpContext context, AuthenticationScheme scheme, SpiffeX509AuthenticationOptions options, ISpiffePeerFeature peer)
        : base(context, scheme, options)
    {
        ArgumentNullException.ThrowIfNull(peer);
        Peer = peer;
    }

    /// <summary>What the handshake verified: the peer's SPIFFE ID and leaf (owned by the connection).</summary>
    public ISpiffePeerFeature Peer { get; }

    /// <summary>The peer's SPIFFE ID.</summary>
    public SpiffeId SpiffeId => Peer.SpiffeId;

    /// <summary>The peer's X509-SVID leaf (owned by the connection; do not dispose).</summary>
    public X509Certificate2 Certificate => Peer.Certificate;
}

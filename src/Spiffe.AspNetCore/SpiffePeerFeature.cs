using System.Security.Cryptography.X509Certificates;

namespace Spiffe.AspNetCore;

/// <summary>What the TLS handshake of a <c>UseSpiffeMtls</c> endpoint verified (see <see cref="ISpiffePeerFeature"/>).</summary>
internal sealed class SpiffePeerFeature(SpiffeId spiffeId, X509Certificate2 certificate) : ISpiffePeerFeature
{
    public SpiffeId SpiffeId { get; } = spiffeId;

    public X509Certificate2 Certificate { get; } = certificate;
}

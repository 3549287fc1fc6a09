using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Spiffe.Jwt;
using Spiffe.X509;

namespace Spiffe.AspNetCore;

/// <summary>
/// The caller's SPIFFE ID on a request that came in over <see cref="SpiffeListenOptionsExtensions.UseSpiffeMtls"/>,
/// and the caller's JWT-SVID on an endpoint guarded by <c>RequireJwtSvid</c>.
/// </summary>
public static class SpiffeHttpContextExtensions
{
    /// <summary>
    /// Gets the SPIFFE ID that this request's connection authenticated and authorized in its TLS
    /// handshake on a <c>UseSpiffeMtls</c> endpoint (<see cref="ISpiffePeerFeature"/>); false on any
    /// other connection. A client certificate that reached the app another way (certificate
    /// forwarding, middleware setting <c>Connection.ClientCertificate</c>, plain <c>UseHttps</c>) is
    /// never read: it is not a verified SPIFFE identity.
    /// </summary>
    public static bool TryGetSpiffeId(this HttpContext context, [NotNullWhen(true)] out SpiffeId? id)
    {
        ArgumentNullException.ThrowIfNull(context);
        id = context.Features.Get<ISpiffePeerFeature>()?.SpiffeId;
        return id is not null;
    }

    /// <summary>The SPIFFE ID of the caller's X509-SVID.</summary>
    /// <exception cref="InvalidOperationException">The connection has no client X509-SVID (not an mTLS endpoint).</exception>
    public static SpiffeId GetSpiffeId(this HttpContext context) =>
        TryGetSpiffeId(context, out SpiffeId? id)
            ? id
            : throw new InvalidOperationException("The request's connection carries no client X509-SVID; serve it from an endpoint configured with UseSpiffeMtls.");

    /// <summary>
    /// Gets the JWT-SVID that the endpoint's <c>RequireJwtSvid</c> filter validated for this request
    /// (its <see cref="JwtSvid.Id"/> is the caller's SPIFFE ID, <see cref="JwtSvid.Claims"/> all its
    /// claims); false on endpoints without that filter.
    /// </summary>
    public static bool TryGetJwtSvid(this HttpContext context, [NotNullWhen(true)] out JwtSvid? svid)
    {
        ArgumentNullException.ThrowIfNull(context);
        svid = context.Features.Get<JwtSvidFeature>()?.Svid;
        return svid is not null;
    }

    /// <summary>The JWT-SVID validated for this request by the endpoint's <c>RequireJwtSvid</c> filter.</summary>
    /// <exception cref="InvalidOperationException">No JWT-SVID was validated for this request (the endpoint has no <c>RequireJwtSvid</c> filter).</exception>
    public static JwtSvid GetJwtSvid(this HttpContext context) =>
        TryGetJwtSvid(context, out JwtSvid? svid)
            ? svid
            : throw new InvalidOperationException("No JWT-SVID was validated for this request; guard the endpoint with RequireJwtSvid.");
}

using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Spiffe.Jwt;
using Spiffe.X509;

namespace Spiffe.AspNetCore;

/// <summary>
/// The caller's SPIFFE ID on a request that came in over <see cref="SpiffeListenOptionsExtensions.UseSpiffeMtls"/>,
/// and the caller's JWT-SVID validated by a SPIFFE JWT scheme (<c>AddSpiffeJwt</c>, <c>RequireJwtSvid</c>).
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
    /// Gets the JWT-SVID that a SPIFFE JWT scheme (<c>AddSpiffeJwt</c> or the <c>RequireJwtSvid</c> shorthand) validated for this request
    /// (its <see cref="JwtSvid.Id"/> is the caller's SPIFFE ID, <see cref="JwtSvid.Claims"/> all its
    /// claims); false when no such scheme authenticated the request.
    /// </summary>
    public static bool TryGetJwtSvid(this HttpContext context, [NotNullWhen(true)] out JwtSvid? svid)
    {
        ArgumentNullException.ThrowIfNull(context);
        svid = context.Features.Get<JwtSvidFeature>()?.Svid;
        return svid is not null;
    }

    /// <summary>The JWT-SVID validated for this request by a SPIFFE JWT scheme.</summary>
    /// <exception cref="InvalidOperationException">No JWT-SVID was validated for this request (no SPIFFE JWT scheme authenticated it).</exception>
    public static JwtSvid GetJwtSvid(this HttpContext context) =>
        TryGetJwtSvid(context, out JwtSvid? svid)
            ? svid
            : throw new InvalidOperationException("No JWT-SVID was validated for this request; authenticate the endpoint with the SPIFFE JWT scheme (AddSpiffeJwt, RequireJwtSvid).");
}

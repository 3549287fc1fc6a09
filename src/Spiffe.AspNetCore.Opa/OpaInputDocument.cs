using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Opa;

/// <summary>
/// Writes the Data API request body <c>{"input": …}</c> for one request. The shape is documented in
/// docs/opa.md and is stable: fields are only ever added.
/// </summary>
internal static class OpaInputDocument
{
    public const int Version = 1;

    /// <summary>Writes the body; false (and nothing written) when the principal has no SPIFFE caller.</summary>
    public static bool TryWrite(HttpContext context, ClaimsPrincipal user, IReadOnlyList<string> headers, ArrayBufferWriter<byte> buffer, out OpaDecisionKey key)
    {
        key = default;
        if (!user.TryGetSpiffeId(out SpiffeId? caller))
        {
            return false;
        }

        bool jwt = user.TryGetJwtSvidSpiffeId(out _);
        user.TryGetPeerSpiffeId(out SpiffeId? peer);
        string method = context.Request.Method;
        string? route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;

        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("input");
            writer.WriteNumber("version", Version);

            writer.WriteStartObject("caller");
            writer.WriteString("spiffe_id", caller.ToString());
            writer.WriteString("trust_domain", caller.TrustDomain.Name);
            writer.WriteString("path", caller.Path);
            writer.WriteString("authentication", jwt ? "jwt_svid" : "mtls");
            if (peer is not null)
            {
                writer.WriteString("mtls_peer", peer.ToString());
            }

            if (context.Features.Get<ISpiffeForwardedCallerFeature>() is { } forwarded)
            {
                writer.WriteString("proxy", forwarded.ProxySpiffeId.ToString());
            }

            if (jwt && context.TryGetJwtSvid(out Jwt.JwtSvid? svid))
            {
                writer.WriteStartObject("jwt");
                writer.WriteStartArray("audience");
                foreach (string audience in svid.Audience)
                {
                    writer.WriteStringValue(audience);
                }

                writer.WriteEndArray();
                writer.WriteStartObject("claims");
                foreach (KeyValuePair<string, JsonElement> claim in svid.Claims)
                {
                    writer.WritePropertyName(claim.Key);
                    claim.Value.WriteTo(writer);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();

            writer.WriteStartObject("request");
            writer.WriteString("method", method);
            writer.WriteString("path", context.Request.Path.Value ?? "/");
            if (route is null)
            {
                writer.WriteNull("route");
            }
            else
            {
                writer.WriteString("route", route);
            }

            writer.WriteStartObject("headers");
            foreach (string name in headers)
            {
                StringValues values = context.Request.Headers[name];
                if (values.Count > 0)
                {
                    writer.WriteString(name, values.ToString());
                }
            }

            writer.WriteEndObject();
            string? remote = context.Connection.RemoteIpAddress?.ToString();
            if (remote is null)
            {
                writer.WriteNull("remote_address");
            }
            else
            {
                writer.WriteString("remote_address", remote);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenSpan, digest);
        key = new OpaDecisionKey(caller.ToString(), method, route ?? string.Empty, MemoryMarshal.Read<UInt128>(digest));
        return true;
    }
}

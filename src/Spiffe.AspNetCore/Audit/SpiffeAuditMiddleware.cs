using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore.Audit;

/// <summary>
/// The outermost middleware (added by an <c>IStartupFilter</c>): gives the request a
/// <see cref="SpiffeAuditRecord"/>, counts body bytes, and when the app is done writes exactly one
/// audit event if a SPIFFE scheme handled the request or it came over a SPIFFE mTLS connection.
/// </summary>
internal sealed class SpiffeAuditMiddleware(RequestDelegate next, SpiffeAuditTrail trail)
{
    public async Task InvokeAsync(HttpContext context)
    {
        TimeProvider time = trail.TimeProvider;
        var record = new SpiffeAuditRecord(time.GetUtcNow(), time.GetTimestamp());
        IFeatureCollection features = context.Features;
        features.Set(record);
        features.Set<ISpiffeAuthorizationDecisionFeature>(record);
        IHttpResponseBodyFeature? responseBody = features.Get<IHttpResponseBodyFeature>();
        CountingResponseBodyFeature? countingResponse = responseBody is null ? null : new CountingResponseBodyFeature(responseBody);
        if (countingResponse is not null)
        {
            features.Set<IHttpResponseBodyFeature>(countingResponse);
        }

        Stream requestBody = context.Request.Body;
        var countingRequest = new CountingReadStream(requestBody);
        context.Request.Body = countingRequest; // Kestrel's BodyReader follows a replaced Body, so pipe reads are counted too
        bool threw = false;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch
        {
            threw = true;
            throw;
        }
        finally
        {
            if (countingResponse is not null && ReferenceEquals(features.Get<IHttpResponseBodyFeature>(), countingResponse))
            {
                features.Set(responseBody);
            }

            if (ReferenceEquals(context.Request.Body, countingRequest))
            {
                context.Request.Body = requestBody;
            }

            ISpiffePeerFeature? peer = features.Get<ISpiffePeerFeature>();
            if (record.SchemeReached || peer is not null)
            {
                int status = threw && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
                trail.Write(CreateEvent(context, record, peer, status, time.GetElapsedTime(record.StartTimestamp), countingRequest.BytesRead, countingResponse?.BytesWritten));
            }
        }
    }

    private static SpiffeAuditEvent CreateEvent(HttpContext context, SpiffeAuditRecord record, ISpiffePeerFeature? peer, int status, TimeSpan duration, long bytesRead, long? bytesWritten)
    {
        context.TryGetJwtSvid(out JwtSvid? jwt);
        ClaimsPrincipal user = context.User;
        SpiffeId? caller = user.TryGetSpiffeId(out SpiffeId? principal) ? principal : jwt?.Id ?? peer?.SpiffeId;
        SpiffeAuditAuthentication authentication = SpiffeAuditAuthentication.None;
        if (peer is not null || user.TryGetPeerSpiffeId(out _))
        {
            authentication |= SpiffeAuditAuthentication.Mtls;
        }

        if (jwt is not null || user.TryGetJwtSvidSpiffeId(out _))
        {
            authentication |= SpiffeAuditAuthentication.JwtSvid;
        }

        return new SpiffeAuditEvent
        {
            Kind = SpiffeAuditEventKind.Request,
            Timestamp = record.Started,
            CallerId = caller,
            PeerId = peer?.SpiffeId,
            ProxyId = record.ProxyId,
            Authentication = authentication,
            JwtSubject = jwt?.Id,
            JwtAudience = jwt?.Audience ?? [],
            Method = context.Request.Method,
            RouteTemplate = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText,
            Path = context.Request.PathBase.Add(context.Request.Path).Value,
            StatusCode = status,
            Duration = duration,
            Decision = record.Decision,
            PolicyName = record.PolicyName,
            DecisionSource = record.Deciding(),
            Decisions = [.. record.Decisions],
            Reason = record.Reason,
            RequestBytes = context.Request.ContentLength ?? bytesRead,
            ResponseBytes = bytesWritten,
            RemoteAddress = context.Connection.RemoteIpAddress is { } address ? $"{address}:{context.Connection.RemotePort}" : null,
            TraceIdentifier = context.TraceIdentifier,
        };
    }
}

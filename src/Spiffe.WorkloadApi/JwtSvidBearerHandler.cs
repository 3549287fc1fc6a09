using System.Net.Http.Headers;
using Spiffe.Jwt;

namespace Spiffe.WorkloadApi;

/// <summary>
/// An <see cref="HttpClient"/> handler that authenticates each request with the workload's
/// JWT-SVID: it adds exactly <c>Authorization: Bearer &lt;JWT-SVID&gt;</c> for a fixed audience set
/// (and optional subject), taken from an <see cref="IJwtSvidSource"/> (a <see cref="JwtSource"/>
/// caches the token and fetches a new one once half its lifetime has passed).
/// </summary>
/// <remarks>
/// <para>
/// A request that already carries an <c>Authorization</c> header is sent unchanged: the caller's
/// explicit choice wins, and no token is fetched for it. Every other request either gets a token or
/// fails before anything is sent (with <see cref="WorkloadApiException"/> from a <see cref="JwtSource"/>); the handler never lets a
/// request go out unauthenticated.
/// </para>
/// <code>
/// await using var jwt = await JwtSource.CreateAsync();
/// using var http = new HttpClient(new JwtSvidBearerHandler(jwt, ["spiffe://example.org/backend"], innerHandler: new SocketsHttpHandler()));
/// </code>
/// </remarks>
public sealed class JwtSvidBearerHandler : DelegatingHandler
{
    private readonly IJwtSvidSource _source;
    private readonly JwtSvidRequest _request;

    /// <summary>Creates a handler.</summary>
    /// <param name="source">Where the JWT-SVIDs come from. The handler does not own or dispose it.</param>
    /// <param name="audiences">The audiences the tokens are requested for (at least one, none empty).</param>
    /// <param name="subject">The SPIFFE ID to request a token for when the workload has several; the default identity when null.</param>
    /// <param name="innerHandler">The handler that sends the request, disposed with this one; when null, set <see cref="DelegatingHandler.InnerHandler"/> before use (<c>IHttpClientFactory</c> does).</param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="audiences"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="audiences"/> is empty or holds a null or empty value.</exception>
    public JwtSvidBearerHandler(IJwtSvidSource source, IReadOnlyCollection<string> audiences, SpiffeId? subject = null, HttpMessageHandler? innerHandler = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _request = new JwtSvidRequest(audiences, subject);
        _source = source;
        if (innerHandler is not null)
        {
            InnerHandler = innerHandler;
        }
    }

    /// <summary>The audiences the tokens are requested for (without duplicates, in ordinal order).</summary>
    public IReadOnlyList<string> Audiences => _request.Audiences;

    /// <summary>The SPIFFE ID tokens are requested for, or null for the workload's default identity.</summary>
    public SpiffeId? Subject => _request.Subject;

    /// <inheritdoc/>
    /// <exception cref="WorkloadApiException">No JWT-SVID could be had; the request was not sent.</exception>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.Authorization is null)
        {
            JwtSvid svid = await FetchAsync(request, cancellationToken).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", svid.Token);
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    /// <remarks>Blocks on the token fetch when the cached token is due for refresh.</remarks>
    /// <exception cref="WorkloadApiException">No JWT-SVID could be had; the request was not sent.</exception>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.Authorization is null)
        {
            JwtSvid svid = FetchAsync(request, cancellationToken).GetAwaiter().GetResult();
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", svid.Token);
        }

        return base.Send(request, cancellationToken);
    }

    private async Task<JwtSvid> FetchAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await _source.GetJwtSvidAsync(_request, cancellationToken).ConfigureAwait(false);
        }
        catch (WorkloadApiException e)
        {
            throw new WorkloadApiException(
                e.Kind,
                $"No JWT-SVID for audience(s) {string.Join(", ", _request.Audiences)}{(Subject is null ? string.Empty : $" and subject {Subject}")}; the request {request.Method} {request.RequestUri} was not sent: {e.Message}",
                e,
                e.StatusCode);
        }
    }
}

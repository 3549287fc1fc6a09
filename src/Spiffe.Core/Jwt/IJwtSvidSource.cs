namespace Spiffe.Jwt;

/// <summary>
/// Something that hands out the workload's JWT-SVIDs (a <c>JwtSource</c>, a fixed token in tests):
/// the one abstraction outgoing-token code takes, so it can be faked or swapped.
/// </summary>
/// <remarks>
/// Implementations are thread-safe, cache tokens and refresh them behind the caller's back: the
/// cached path completes synchronously. Callers ask per request and never keep a token.
/// <code>
/// JwtSvid svid = await source.GetJwtSvidAsync(new JwtSvidRequest(["spiffe://example.org/backend"]), cancellationToken);
/// request.Headers.Authorization = new("Bearer", svid.Token);
/// </code>
/// </remarks>
public interface IJwtSvidSource
{
    /// <summary>A JWT-SVID valid now for the request's audiences and subject.</summary>
    /// <param name="request">The audiences (at least one) and, optionally, the subject.</param>
    /// <param name="cancellationToken">Cancels this caller's wait (not a fetch other callers share).</param>
    /// <exception cref="ArgumentException"><paramref name="request"/> is <c>default</c>.</exception>
    /// <exception cref="SpiffeException">No JWT-SVID could be had (the implementation's exception says why).</exception>
    ValueTask<JwtSvid> GetJwtSvidAsync(JwtSvidRequest request, CancellationToken cancellationToken = default);
}

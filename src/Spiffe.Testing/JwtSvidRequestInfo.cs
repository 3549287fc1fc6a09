namespace Spiffe.Testing;

/// <summary>What a workload asked for in a <c>FetchJWTSVID</c> call; passed to a JWT-SVID minting hook.</summary>
/// <param name="Audiences">The requested audiences, in request order (never empty: the server rejects an empty list first).</param>
/// <param name="SpiffeId">The requested SPIFFE ID, or <see langword="null"/> when the request left <c>spiffe_id</c> empty.</param>
public sealed record JwtSvidRequestInfo(IReadOnlyList<string> Audiences, string? SpiffeId);

namespace Spiffe.Testing;

/// <summary>
/// One <c>JWTSVID</c> message of the Workload API, as raw protocol fields. The server never parses the
/// token, so tests can hand out expired, unsigned or malformed tokens.
/// </summary>
/// <param name="SpiffeId">The <c>spiffe_id</c> field.</param>
/// <param name="Token">The <c>svid</c> field: the token in JWS compact serialization.</param>
/// <param name="Hint">The optional <c>hint</c> field; <see langword="null"/> sends it empty.</param>
public sealed record WorkloadApiJwtSvid(string SpiffeId, string Token, string? Hint = null);

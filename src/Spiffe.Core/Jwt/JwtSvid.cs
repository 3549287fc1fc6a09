using System.Globalization;
using System.Text.Json;
using Spiffe.Bundles;

namespace Spiffe.Jwt;

/// <summary>
/// A JWT-SVID: a compact JWS whose <c>sub</c> is a SPIFFE ID, validated per JWT-SVID.md. Immutable.
/// </summary>
/// <remarks>
/// <para>
/// The token is a bearer credential: <see cref="ToString"/> never prints it; only <see cref="Token"/> returns it.
/// </para>
/// <para>
/// Validation rules: compact JWS only (no JSON serialization, no JWE); <c>alg</c> exactly one of
/// RS256/384/512, ES256/384/512, PS256/384/512, checked before any key is used and matched to the
/// key type and curve; header members other than <c>alg</c>, <c>kid</c> and <c>typ</c> rejected
/// (including <c>crit</c>, <c>jwk</c>, <c>jku</c>, <c>x5c</c>, <c>x5u</c>, <c>cty</c>); <c>typ</c>
/// absent, <c>JWT</c> or <c>JOSE</c>; ECDSA signatures as raw R‖S; <c>sub</c> a SPIFFE ID (a trust
/// domain ID is accepted); only keys of the subject's trust domain bundle; <c>kid</c> optional
/// (without it every key of a fitting type is tried); <c>aud</c> a string or non-empty array
/// containing one of the expected audiences; <c>exp</c> required and <c>nbf</c> honoured, with a
/// leeway of at most one minute.
/// </para>
/// <code>
/// JwtSvid svid = JwtSvid.ParseAndValidate(token, bundles, ["my-service"]);
/// Console.WriteLine(svid.Id); // spiffe://example.org/web
/// </code>
/// </remarks>
public sealed class JwtSvid
{
    private readonly string[] _audience;
    private readonly Dictionary<string, JsonElement> _claims;

    internal JwtSvid(
        string token,
        SpiffeId id,
        string[] audience,
        DateTimeOffset expiresAt,
        DateTimeOffset? issuedAt,
        DateTimeOffset? notBefore,
        Dictionary<string, JsonElement> claims,
        string algorithm,
        string? keyId,
        string? hint)
    {
        Token = token;
        Id = id;
        _audience = audience;
        ExpiresAt = expiresAt;
        IssuedAt = issuedAt;
        NotBefore = notBefore;
        _claims = claims;
        Algorithm = algorithm;
        KeyId = keyId;
        Hint = hint;
    }

    /// <summary>The SPIFFE ID of the workload (the <c>sub</c> claim).</summary>
    public SpiffeId Id { get; }

    /// <summary>The audiences (the <c>aud</c> claim; a single string becomes a one-element list).</summary>
    public IReadOnlyList<string> Audience => Array.AsReadOnly(_audience);

    /// <summary>When the token expires (the <c>exp</c> claim).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>When the token was issued (the <c>iat</c> claim), if present.</summary>
    public DateTimeOffset? IssuedAt { get; }

    /// <summary>When the token becomes valid (the <c>nbf</c> claim), if present.</summary>
    public DateTimeOffset? NotBefore { get; }

    /// <summary>All claims of the payload, including <c>sub</c>, <c>aud</c> and <c>exp</c>.</summary>
    public IReadOnlyDictionary<string, JsonElement> Claims => _claims.AsReadOnly();

    /// <summary>The JWS algorithm (<c>alg</c> header), e.g. <c>ES256</c>.</summary>
    public string Algorithm { get; }

    /// <summary>The key ID (<c>kid</c> header), or null when the token has none.</summary>
    public string? KeyId { get; }

    /// <summary>The token itself, a bearer credential: send it only to the audience it is for, never log it.</summary>
    public string Token { get; }

    /// <summary>The operator-defined hint the Workload API attached to this SVID, if any.</summary>
    public string? Hint { get; }

    /// <summary>
    /// Parses a JWT-SVID and validates it against the JWT bundle of its subject's trust domain, the
    /// expected audiences and the current time (default leeway <see cref="JwtSvidValidator.DefaultLeeway"/>).
    /// For repeated validations with the same settings, use a <see cref="JwtSvidValidator"/>.
    /// </summary>
    /// <param name="token">The compact JWS.</param>
    /// <param name="bundleSource">Where the JWT bundles come from.</param>
    /// <param name="audiences">The audiences this validator accepts; the token must name at least one of them. Must not be empty.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="JwtSvidException">The token is invalid, whatever is wrong with it (including text that is not valid Unicode); the message says why.</exception>
    /// <exception cref="ArgumentException"><paramref name="audiences"/> is empty or holds an empty value.</exception>
    public static JwtSvid ParseAndValidate(string token, IJwtBundleSource bundleSource, IReadOnlyCollection<string> audiences, TimeProvider? timeProvider = null)
    {
        JwtSvidValidationResult result = new JwtSvidValidator(bundleSource, audiences, timeProvider).Validate(token);
        return result.IsValid ? result.Svid : throw new JwtSvidException(result.ErrorKind, result.Error);
    }

    /// <summary>
    /// Parses a JWT-SVID <b>without verifying its signature</b>: only for tokens received from the
    /// Workload API over its local socket. The structure, header, <c>sub</c>, <c>aud</c>,
    /// <c>exp</c> and <c>nbf</c> are still checked (with <see cref="JwtSvidValidator.DefaultLeeway"/>).
    /// </summary>
    /// <exception cref="JwtSvidException">The token is malformed (whatever is wrong with it, including text that is not valid Unicode), not for these audiences, or expired.</exception>
    /// <exception cref="ArgumentException"><paramref name="audiences"/> is empty or holds an empty value.</exception>
    public static JwtSvid ParseInsecure(string token, IReadOnlyCollection<string> audiences, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(token);
        string[] expected = JwtSvidValidator.CheckAudiences(audiences);
        DateTimeOffset now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        return JwtSvidReader.Read(token, bundleSource: null, expected, now, JwtSvidValidator.DefaultLeeway, out string? error, out JwtSvidErrorKind kind)
            ?? throw new JwtSvidException(kind, error!);
    }

    /// <summary>A copy of this SVID carrying <paramref name="hint"/> (as set by the Workload API).</summary>
    public JwtSvid WithHint(string? hint) =>
        new(Token, Id, _audience, ExpiresAt, IssuedAt, NotBefore, _claims, Algorithm, KeyId, hint);

    /// <summary>The SPIFFE ID, audiences and expiry; never the token.</summary>
    public override string ToString() =>
        $"JwtSvid({Id}, aud=[{string.Join(", ", _audience)}], exp={ExpiresAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)})";
}

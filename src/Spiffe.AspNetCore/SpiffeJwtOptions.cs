namespace Spiffe.AspNetCore;

/// <summary>JWT-SVID settings of <see cref="SpiffeOptions"/> (<c>Spiffe:Jwt</c>).</summary>
public sealed class SpiffeJwtOptions
{
    /// <summary>
    /// Audiences to fetch a JWT-SVID for at start, one token each, so the first outgoing call finds it
    /// in the <c>JwtSource</c> cache (<c>Spiffe:Jwt:PrefetchAudiences</c>). Needs <c>Spiffe:Sources:Jwt</c>.
    /// </summary>
    public IList<string> PrefetchAudiences { get; } = [];
}

namespace Spiffe.Jwt;

/// <summary>
/// A JWT-SVID was rejected: malformed, signed with a disallowed algorithm or an unknown key, not
/// for this audience, expired, or from a trust domain without a JWT bundle. The message says which
/// rule failed; it never contains the token.
/// </summary>
public sealed class JwtSvidException : SpiffeException
{
    /// <summary>Creates an exception with a message.</summary>
    public JwtSvidException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public JwtSvidException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

namespace Spiffe.Jwt;

/// <summary>
/// A JWT-SVID was rejected: malformed, signed with a disallowed algorithm or an unknown key, not
/// for this audience, expired, or from a trust domain without a JWT bundle. <see cref="ErrorKind"/>
/// says which rule failed and the message why; it never contains the token.
/// </summary>
public sealed class JwtSvidException : SpiffeException
{
    /// <summary>Creates an exception for a JWT-SVID rejected for <paramref name="errorKind"/>.</summary>
    public JwtSvidException(JwtSvidErrorKind errorKind, string message)
        : base(message) => ErrorKind = errorKind;

    /// <summary>Creates an exception for a JWT-SVID rejected for <paramref name="errorKind"/>, caused by <paramref name="innerException"/>.</summary>
    public JwtSvidException(JwtSvidErrorKind errorKind, string message, Exception? innerException)
        : base(message, innerException) => ErrorKind = errorKind;

    /// <summary>Which rule rejected the token.</summary>
    public JwtSvidErrorKind ErrorKind { get; }
}

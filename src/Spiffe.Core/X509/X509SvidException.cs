namespace Spiffe.X509;

/// <summary>
/// An X509-SVID that breaks a rule of the X509-SVID specification. The message names the rule;
/// it never contains key material.
/// </summary>
public sealed class X509SvidException : SpiffeException
{
    /// <summary>Creates an exception for an SVID rejected for <paramref name="errorKind"/>.</summary>
    public X509SvidException(X509SvidErrorKind errorKind, string message)
        : base(message) => ErrorKind = errorKind;

    /// <summary>Creates an exception for an SVID rejected for <paramref name="errorKind"/>, caused by <paramref name="innerException"/>.</summary>
    public X509SvidException(X509SvidErrorKind errorKind, string message, Exception? innerException)
        : base(message, innerException) => ErrorKind = errorKind;

    /// <summary>Which rule the SVID breaks.</summary>
    public X509SvidErrorKind ErrorKind { get; }
}

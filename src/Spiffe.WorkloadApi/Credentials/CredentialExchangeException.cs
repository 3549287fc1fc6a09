namespace Spiffe.Credentials;

/// <summary>
/// A JWT-SVID could not be traded for credentials: the service refused it (its error code and message, never the
/// token), answered something that is not its documented response, or could not be reached.
/// </summary>
public sealed class CredentialExchangeException : SpiffeException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and what to check.</param>
    public CredentialExchangeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What failed and what to check.</param>
    /// <param name="innerException">The HTTP or parse failure.</param>
    public CredentialExchangeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

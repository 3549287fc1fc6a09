namespace Spiffe;

/// <summary>
/// The base of every error this SDK raises for SPIFFE material it cannot accept (an invalid
/// SVID, a malformed bundle) or an operation that cannot proceed. Messages say what is wrong and,
/// where there is one, what to do; they never contain key material.
/// </summary>
public class SpiffeException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public SpiffeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public SpiffeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

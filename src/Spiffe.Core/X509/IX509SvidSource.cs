namespace Spiffe.X509;

/// <summary>Something that hands out the X509-SVID to present now (an <c>X509Source</c>, a fixed SVID in tests).</summary>
public interface IX509SvidSource
{
    /// <summary>The current X509-SVID, leaf first with its intermediates and private key.</summary>
    /// <exception cref="SpiffeException">No SVID is available (none yet, or the agent withdrew it).</exception>
    X509Svid GetX509Svid();
}

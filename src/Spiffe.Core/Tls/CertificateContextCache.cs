using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Spiffe.X509;

namespace Spiffe.Tls;

/// <summary>
/// The <see cref="SslStreamCertificateContext"/> of the source's current SVID, rebuilt only when
/// the source hands out a different <see cref="X509Svid"/> instance.
/// </summary>
/// <remarks>
/// A context (not a selection callback) is what makes SslStream send the intermediates
/// (DOTNET-NOTES §2.9 pitfall 8, dotnet/runtime#52550) and lets it cache its native TLS context
/// (pitfall 5, dotnet/aspnetcore#46117). <c>offline: true</c> stops background AIA/OCSP fetches
/// (pitfall 14, dotnet/runtime#69833).
/// </remarks>
internal sealed class CertificateContextCache(IX509SvidSource source)
{
    private volatile Snapshot? _current;

    /// <exception cref="SpiffeException">The source has no SVID yet (the handshake fails instead of waiting).</exception>
    internal SslStreamCertificateContext GetCurrent()
    {
        X509Svid svid = source.GetX509Svid() ?? throw new SpiffeException("The X509-SVID source returned no SVID.");
        Snapshot? snapshot = _current;
        if (snapshot is not null && ReferenceEquals(snapshot.Svid, svid))
        {
            return snapshot.Context;
        }

        var intermediates = new X509Certificate2Collection();
        foreach (X509Certificate2 intermediate in svid.Intermediates)
        {
            intermediates.Add(intermediate);
        }

        SslStreamCertificateContext context = SslStreamCertificateContext.Create(svid.Certificate, intermediates, offline: true);
        _current = new Snapshot(svid, context);
        return context;
    }

    private sealed record Snapshot(X509Svid Svid, SslStreamCertificateContext Context);
}

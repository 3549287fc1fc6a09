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
/// On Windows, SChannel cannot use the ephemeral key an <see cref="X509Svid"/> carries
/// (pitfall 3, dotnet/runtime#23749), so the leaf is re-imported through PKCS#12 there; that copy
/// is owned by the cache and disposed two rotations later, once no handshake can still be using it.
/// Linux and macOS use the SVID's certificate as it is.
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

        X509Certificate2? windowsCopy = OperatingSystem.IsWindows() ? ReimportForSChannel(svid.Certificate) : null;
        SslStreamCertificateContext context = SslStreamCertificateContext.Create(windowsCopy ?? svid.Certificate, intermediates, offline: true);
        var next = new Snapshot(svid, context, windowsCopy, snapshot);
        Snapshot? replaced = Interlocked.Exchange(ref _current, next);

        // Keep one superseded snapshot alive for handshakes that picked it up just before the
        // rotation; release the one before it.
        Snapshot? expired = replaced?.Previous;
        if (replaced is not null)
        {
            replaced.Previous = null;
        }

        expired?.WindowsCopy?.Dispose();
        return context;
    }

    private static X509Certificate2 ReimportForSChannel(X509Certificate2 certificate)
    {
        byte[] pkcs12 = certificate.Export(X509ContentType.Pkcs12);
        try
        {
            return X509CertificateLoader.LoadPkcs12(pkcs12, password: null);
        }
        finally
        {
            Array.Clear(pkcs12);
        }
    }

    private sealed class Snapshot(X509Svid svid, SslStreamCertificateContext context, X509Certificate2? windowsCopy, Snapshot? previous)
    {
        internal X509Svid Svid { get; } = svid;

        internal SslStreamCertificateContext Context { get; } = context;

        internal X509Certificate2? WindowsCopy { get; } = windowsCopy;

        internal Snapshot? Previous { get; set; } = previous;
    }
}

using System.Net.Security;
using System.Security.Cryptography;
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
/// <para>
/// Each context holds its own copy of the leaf (with its key), never disposed here: the source
/// releases superseded SVIDs a rotation later, but a connection can outlive any number of
/// rotations, and its <see cref="SslStream.LocalCertificate"/> is that copy. The copy is freed by
/// its finalizer once the context and every connection using it are gone (the cache keeps only the
/// current context). The intermediates need no copy: the context takes them from the chain it
/// builds. On Windows, SChannel cannot use the ephemeral key an <see cref="X509Svid"/> carries
/// (pitfall 3, dotnet/runtime#23749), so the copy is a PKCS#12 re-import there.
/// </para>
/// </remarks>
internal sealed class CertificateContextCache(IX509SvidSource source)
{
    // Two rotations during one copy would mean the source released the SVID under us; a fresh
    // read then gets the newest one. Bounded: a source that keeps doing that is broken.
    private const int CopyAttempts = 3;

    private volatile Snapshot? _current;

    /// <exception cref="SpiffeException">The source has no SVID yet (the handshake fails instead of waiting).</exception>
    internal SslStreamCertificateContext GetCurrent()
    {
        for (int attempt = 1; ; attempt++)
        {
            X509Svid svid = source.GetX509Svid() ?? throw new SpiffeException("The X509-SVID source returned no SVID.");
            Snapshot? snapshot = _current;
            if (snapshot is not null && ReferenceEquals(snapshot.Svid, svid))
            {
                return snapshot.Context;
            }

            SslStreamCertificateContext context;
            try
            {
                context = Create(svid);
            }
            catch (Exception e) when (e is ObjectDisposedException or CryptographicException && attempt < CopyAttempts && !ReferenceEquals(source.GetX509Svid(), svid))
            {
                continue;
            }

            _current = new Snapshot(svid, context);
            return context;
        }
    }

    private static SslStreamCertificateContext Create(X509Svid svid)
    {
        var intermediates = new X509Certificate2Collection();
        foreach (X509Certificate2 intermediate in svid.Intermediates)
        {
            intermediates.Add(intermediate);
        }

        X509Certificate2 leaf = OperatingSystem.IsWindows() ? ReimportForSChannel(svid.Certificate) : new X509Certificate2(svid.Certificate);
        try
        {
            return SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        }
        catch
        {
            leaf.Dispose();
            throw;
        }
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

    private sealed record Snapshot(X509Svid Svid, SslStreamCertificateContext Context);
}

using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// The CA certificates (SVID intermediates and bundle authorities) of the last state one watch
/// delivered, kept decoded so the next message of that watch can reuse them instead of decoding
/// them again (~0.1 ms per certificate on OpenSSL 3.0): on a rotation usually only the leaf is new.
/// </summary>
/// <remarks>
/// Holds its own copies (each shares the immutable native certificate), so a delivered state can be
/// disposed by its reader at any time. One instance belongs to one watch loop, which parses its
/// messages one at a time, so it needs no lock; the loop disposes it when the watch ends. Leaves
/// are not kept: they carry private keys and change on every rotation.
/// </remarks>
internal sealed class KnownCertificates : IDisposable
{
    private X509Certificate2[] _certificates = [];

    /// <summary>The certificates to offer the next parse.</summary>
    public IReadOnlyList<X509Certificate2> Certificates => _certificates;

    /// <summary>Keeps the intermediates and authorities of <paramref name="context"/>, dropping the previous ones.</summary>
    public X509Context Remember(X509Context context)
    {
        var next = new List<X509Certificate2>();
        foreach (X509Svid svid in context.Svids)
        {
            AddCopies(next, svid.Intermediates);
        }

        AddAuthorities(next, context.Bundles);
        Replace(next);
        return context;
    }

    /// <summary>Keeps the authorities of <paramref name="bundles"/>, dropping the previous ones.</summary>
    public X509BundleSet Remember(X509BundleSet bundles)
    {
        var next = new List<X509Certificate2>();
        AddAuthorities(next, bundles);
        Replace(next);
        return bundles;
    }

    /// <summary>Releases the kept certificates.</summary>
    public void Dispose() => Replace([]);

    private static void AddAuthorities(List<X509Certificate2> next, X509BundleSet bundles)
    {
        foreach (X509Bundle bundle in bundles)
        {
            AddCopies(next, bundle.X509Authorities);
        }
    }

    private static void AddCopies(List<X509Certificate2> next, IReadOnlyList<X509Certificate2> certificates)
    {
        foreach (X509Certificate2 certificate in certificates)
        {
            if (!certificate.HasPrivateKey && !Contains(next, certificate.RawDataMemory.Span))
            {
                next.Add(new X509Certificate2(certificate));
            }
        }
    }

    private static bool Contains(List<X509Certificate2> certificates, ReadOnlySpan<byte> der)
    {
        foreach (X509Certificate2 certificate in certificates)
        {
            if (certificate.RawDataMemory.Span.SequenceEqual(der))
            {
                return true;
            }
        }

        return false;
    }

    private void Replace(List<X509Certificate2> next)
    {
        X509Certificate2[] previous = _certificates;
        _certificates = [.. next];
        foreach (X509Certificate2 certificate in previous)
        {
            certificate.Dispose();
        }
    }
}

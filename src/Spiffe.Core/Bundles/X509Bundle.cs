using System.Security.Cryptography.X509Certificates;
using Spiffe.Internal;

namespace Spiffe.Bundles;

/// <summary>
/// The X.509 authorities (CA certificates) of one trust domain: the only trust anchors used to
/// authenticate X509-SVIDs of that trust domain. Immutable; bundles of different trust domains are
/// never merged.
/// </summary>
/// <remarks>
/// Ownership: a bundle you create owns its certificates, and <see cref="Dispose"/> releases their
/// native handles (dispose it once nothing, a handshake or a validator, can still use it). A bundle
/// handed out by a source (<c>X509Source</c>, <c>BundleSource</c>, an <c>X509Context</c>) belongs
/// to the source: <see cref="Dispose"/> does nothing on it and the source never disposes it, so
/// holding one across updates is safe; the finalizers release it once nothing refers to it. Call
/// <see cref="Copy"/> for an instance whose lifetime you control.
/// </remarks>
public sealed class X509Bundle : IX509BundleSetSource, IDisposable
{
    private readonly X509Certificate2[] _authorities;
    private readonly System.Collections.ObjectModel.ReadOnlyCollection<X509Certificate2> _readOnlyAuthorities;
    private X509BundleSet? _asSet;
    private volatile bool _ownedBySource;

    /// <summary>Creates a bundle from certificates; the bundle takes ownership of them. An empty bundle trusts nothing.</summary>
    public X509Bundle(TrustDomain trustDomain, IEnumerable<X509Certificate2> authorities)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        ArgumentNullException.ThrowIfNull(authorities);
        TrustDomain = trustDomain;
        _authorities = [.. authorities];
        _readOnlyAuthorities = Array.AsReadOnly(_authorities);
        foreach (X509Certificate2 authority in _authorities)
        {
            ArgumentNullException.ThrowIfNull(authority, nameof(authorities));
        }
    }

    /// <summary>The trust domain these authorities speak for.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The CA certificates, in the order they were given.</summary>
    public IReadOnlyList<X509Certificate2> X509Authorities => _readOnlyAuthorities;

    /// <summary>Loads a bundle from concatenated DER certificates, the Workload API's <c>bundle</c> format.</summary>
    /// <remarks>
    /// For bundle updates, pass the authorities you already hold as
    /// <paramref name="knownCertificates"/>: certificates equal to one of them byte for byte are
    /// not decoded again, the bundle gets its own <see cref="X509Certificate2"/> sharing the known
    /// certificate's native handle (decoding one certificate costs ~0.1 ms on OpenSSL 3.0).
    /// </remarks>
    /// <param name="trustDomain">The trust domain these authorities speak for.</param>
    /// <param name="concatenatedDer">The authorities as concatenated DER certificates.</param>
    /// <param name="knownCertificates">
    /// Certificates to reuse instead of decoding again; the caller keeps them and must not dispose
    /// them during the call. Certificates with a private key are ignored. Null reuses nothing.
    /// </param>
    /// <exception cref="FormatException">The data is empty or is not a sequence of DER certificates (the only exception type bad data produces).</exception>
    public static X509Bundle FromDer(TrustDomain trustDomain, ReadOnlySpan<byte> concatenatedDer, IReadOnlyList<X509Certificate2>? knownCertificates = null)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return new X509Bundle(trustDomain, CertificateDer.LoadConcatenated(concatenatedDer, $"X.509 bundle of {trustDomain}", knownCertificates));
    }

    /// <summary>Loads a bundle from PEM text holding one or more CERTIFICATE blocks.</summary>
    /// <exception cref="FormatException">The text holds no certificate, or a block that is not a certificate (the only exception type bad text produces).</exception>
    public static X509Bundle FromPem(TrustDomain trustDomain, ReadOnlySpan<char> pem)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return new X509Bundle(trustDomain, CertificateDer.LoadPem(pem, $"X.509 bundle of {trustDomain}"));
    }

    /// <summary>The authorities as concatenated DER.</summary>
    public byte[] ToDer() => CertificateDer.Concatenate(_authorities);

    /// <summary>The authorities as PEM CERTIFICATE blocks.</summary>
    public string ToPem() => CertificateDer.ToPem(_authorities);

    /// <summary>Whether <paramref name="certificate"/> is one of the authorities (same DER encoding).</summary>
    public bool Contains(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ReadOnlySpan<byte> raw = certificate.RawDataMemory.Span;
        foreach (X509Certificate2 authority in _authorities)
        {
            if (authority.RawDataMemory.Span.SequenceEqual(raw))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>This bundle when asked for its own trust domain; null for any other.</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain) => TrustDomain.Equals(trustDomain) ? this : null;

    /// <summary>A set holding only this bundle (the same instance on every call).</summary>
    public X509BundleSet GetX509BundleSet()
    {
        // The first set published wins, so every caller sees one instance (callers cache by reference).
        return _asSet ?? Interlocked.CompareExchange(ref _asSet, new X509BundleSet([this]), null) ?? _asSet;
    }

    /// <summary>The trust domain and the number of authorities.</summary>
    public override string ToString() => $"X509Bundle({TrustDomain}, {_authorities.Length} authorities)";

    /// <summary>Whether this bundle belongs to a source: <see cref="Dispose"/> then does nothing.</summary>
    public bool IsOwnedBySource => _ownedBySource;

    /// <summary>An independent copy that you own (same authorities), released by its own <see cref="Dispose"/>.</summary>
    public X509Bundle Copy() => new(TrustDomain, _authorities.Select(static a => new X509Certificate2(a)));

    /// <summary>Releases the certificates' native handles, unless the bundle belongs to a source (then nothing happens).</summary>
    public void Dispose()
    {
        if (_ownedBySource)
        {
            return;
        }

        foreach (X509Certificate2 authority in _authorities)
        {
            authority.Dispose();
        }
    }

    /// <summary>Hands this bundle to a source: from now on <see cref="Dispose"/> does nothing.</summary>
    internal void MarkOwnedBySource() => _ownedBySource = true;
}

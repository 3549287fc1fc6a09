using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Internal;

namespace Spiffe.X509;

/// <summary>
/// An X509-SVID held by this workload: the leaf certificate with its private key, the
/// intermediates that chain it to its trust domain's bundle, and the SPIFFE ID it asserts.
/// Construction enforces the X509-SVID rules a holder can check on its own (one URI SAN with a
/// SPIFFE ID that has a path, not a CA, Key Usage and Extended Key Usage rules, CA intermediates,
/// a supported key matching the leaf).
/// </summary>
/// <remarks>
/// <para>
/// Ownership: an SVID you create (<see cref="Parse"/>, <see cref="FromPem"/>, <see cref="Copy"/>) is
/// yours, and <see cref="Dispose"/> releases its certificates and key. An SVID handed out by a
/// source (<c>X509Source.GetX509Svid</c>, <c>X509Context.Svids</c>) belongs to the source:
/// <see cref="Dispose"/> does nothing on it, so <c>using (source.GetX509Svid()) { }</c> cannot
/// break the source or later handshakes, and the source never disposes it either, so a caller
/// holding one across rotations can still read it; its native handles are released by the
/// finalizers once nothing refers to it. Call <see cref="Copy"/> for an instance whose lifetime
/// you control. The private key never appears in <see cref="ToString"/> or in exception messages.
/// </para>
/// <code>
/// using X509Svid svid = X509Svid.Parse(response.X509Svid.Span, response.X509SvidKey.Span, response.Hint);
/// Console.WriteLine(svid); // X509Svid(spiffe://example.org/web, serial 5F…, expires 2026-11-22T18:00:00Z)
/// </code>
/// </remarks>
public sealed class X509Svid : IDisposable
{
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const string P384Oid = "1.3.132.0.34";
    private const string P521Oid = "1.3.132.0.35";

    private readonly X509Certificate2[] _intermediates;
    private readonly X509Certificate2[] _chain;
    private volatile bool _ownedBySource;
    private volatile bool _disposed;

    private X509Svid(SpiffeId id, X509Certificate2 certificate, X509Certificate2[] intermediates, string? hint, DateTimeOffset expiresAt)
    {
        Id = id;
        Certificate = certificate;
        _intermediates = intermediates;
        _chain = [certificate, .. intermediates];
        Hint = hint;
        ExpiresAt = expiresAt;
    }

    /// <summary>The SPIFFE ID in the leaf's URI SAN.</summary>
    public SpiffeId Id { get; }

    /// <summary>The leaf certificate, with its private key attached.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The intermediate CA certificates after the leaf, in the order given (possibly none).</summary>
    public IReadOnlyList<X509Certificate2> Intermediates => _intermediates;

    /// <summary>The leaf followed by the intermediates: the order to present in TLS.</summary>
    public IReadOnlyList<X509Certificate2> Chain => _chain;

    /// <summary>The Workload API's operator hint for choosing between SVIDs, if any.</summary>
    public string? Hint { get; }

    /// <summary>When the leaf certificate expires (its NotAfter), in UTC.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>
    /// Creates an SVID from the Workload API's format: the certificate chain as concatenated DER
    /// (leaf first) and the private key as unencrypted PKCS#8 DER.
    /// </summary>
    /// <remarks>
    /// For rotations, pass the certificates you already hold (for example the previous SVID's
    /// intermediates) as <paramref name="knownCertificates"/>: chain elements equal to one of them
    /// byte for byte are not decoded again, the SVID gets its own <see cref="X509Certificate2"/>
    /// sharing the known certificate's native handle (decoding one certificate costs ~0.1 ms on
    /// OpenSSL 3.0). Every rule is checked exactly as for a fresh load.
    /// </remarks>
    /// <param name="concatenatedDerChain">The leaf followed by any intermediates, as concatenated DER certificates.</param>
    /// <param name="pkcs8PrivateKeyDer">The leaf's private key, unencrypted PKCS#8 DER (RSA or ECDSA P-256/P-384/P-521).</param>
    /// <param name="hint">The optional operator hint.</param>
    /// <param name="knownCertificates">
    /// Certificates to reuse instead of decoding again; the caller keeps them and must not dispose
    /// them during the call. Certificates with a private key are ignored. Null reuses nothing.
    /// </param>
    /// <exception cref="X509SvidException">
    /// The chain or key is malformed, or breaks an X509-SVID rule; the message names it. This is the
    /// only exception type bad input produces: a key or certificate the platform cannot decode (an
    /// unknown curve, an extension its decoder refuses) is an <see cref="X509SvidException"/> too.
    /// </exception>
    public static X509Svid Parse(ReadOnlySpan<byte> concatenatedDerChain, ReadOnlySpan<byte> pkcs8PrivateKeyDer, string? hint = null, IReadOnlyList<X509Certificate2>? knownCertificates = null)
    {
        X509Certificate2[] certificates = LoadChain(concatenatedDerChain, knownCertificates);
        return Create(certificates, hint, (AsymmetricAlgorithm key, out int bytesRead, ReadOnlySpan<byte> pkcs8) => key.ImportPkcs8PrivateKey(pkcs8, out bytesRead), pkcs8PrivateKeyDer, requireWholeInput: true);
    }

    /// <summary>
    /// Creates an SVID from PEM: one or more CERTIFICATE blocks (leaf first) and one private key
    /// block, <c>PRIVATE KEY</c> (PKCS#8), <c>EC PRIVATE KEY</c> (SEC 1) or <c>RSA PRIVATE KEY</c> (PKCS#1).
    /// </summary>
    /// <exception cref="X509SvidException">The PEM is malformed, or the SVID breaks an X509-SVID rule; the message names it.</exception>
    public static X509Svid FromPem(ReadOnlySpan<char> certificatesPem, ReadOnlySpan<char> privateKeyPem)
    {
        X509Certificate2[] certificates;
        try
        {
            certificates = CertificateDer.LoadPem(certificatesPem, "X509-SVID certificate");
        }
        catch (FormatException e)
        {
            throw new X509SvidException(X509SvidErrorKind.Malformed, e.Message, e);
        }

        byte[]? keyDer = null;
        try
        {
            string label = DecodeKeyPem(privateKeyPem, out keyDer);
            KeyImporter importer = label switch
            {
                "EC PRIVATE KEY" => (AsymmetricAlgorithm key, out int bytesRead, ReadOnlySpan<byte> der) =>
                {
                    if (key is not ECDsa ec)
                    {
                        throw new CryptographicException("An EC PRIVATE KEY cannot belong to a non-EC certificate.");
                    }

                    ec.ImportECPrivateKey(der, out bytesRead);
                },
                "RSA PRIVATE KEY" => (AsymmetricAlgorithm key, out int bytesRead, ReadOnlySpan<byte> der) =>
                {
                    if (key is not RSA rsa)
                    {
                        throw new CryptographicException("An RSA PRIVATE KEY cannot belong to a non-RSA certificate.");
                    }

                    rsa.ImportRSAPrivateKey(der, out bytesRead);
                },
                _ => (AsymmetricAlgorithm key, out int bytesRead, ReadOnlySpan<byte> der) => key.ImportPkcs8PrivateKey(der, out bytesRead),
            };
            return Create(certificates, null, importer, keyDer, requireWholeInput: true);
        }
        catch
        {
            // Create disposes on its own failures; disposing twice is harmless.
            DisposeAll(certificates);
            throw;
        }
        finally
        {
            if (keyDer is not null)
            {
                CryptographicOperations.ZeroMemory(keyDer);
            }
        }
    }

    /// <summary>The chain as PEM <c>CERTIFICATE</c> blocks, leaf first; no key material (see <see cref="ExportPrivateKeyPem"/>).</summary>
    public string ToPem() => CertificateDer.ToPem(_chain);

    /// <summary>
    /// The private key as a PKCS#8 <c>PRIVATE KEY</c> PEM block: a secret, asked for by name so it is
    /// never exported by accident. Write it to a file only the workload can read, and drop the string soon.
    /// </summary>
    public string ExportPrivateKeyPem()
    {
        byte[] pkcs8 = ExportPkcs8();
        try
        {
            return new string(PemEncoding.Write("PRIVATE KEY", pkcs8));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>The chain as concatenated DER, leaf first (the Workload API's <c>x509_svid</c> format).</summary>
    public byte[] ToDer() => CertificateDer.Concatenate(_chain);

    /// <summary>The private key as unencrypted PKCS#8 DER (the Workload API's <c>x509_svid_key</c> format). Treat it as a secret and clear it after use.</summary>
    public byte[] ExportPkcs8PrivateKey() => ExportPkcs8();

    /// <summary>The SPIFFE ID, the leaf's serial number and its expiry; never key material.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"X509Svid({Id}, serial {Certificate.SerialNumber}, expires {ExpiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})");

    /// <summary>
    /// Whether this SVID belongs to a source (handed out by <c>X509Source</c>): <see cref="Dispose"/>
    /// then does nothing.
    /// </summary>
    public bool IsOwnedBySource => _ownedBySource;

    /// <summary>
    /// An independent copy that you own: same certificates, key, ID and hint, released by its own
    /// <see cref="Dispose"/> and unaffected by anything done to this one. Use it to keep an SVID
    /// with a lifetime you control, or to hand it to code that disposes what it gets.
    /// </summary>
    /// <exception cref="ObjectDisposedException">This SVID was disposed by its owner.</exception>
    public X509Svid Copy()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var copies = new X509Certificate2[_chain.Length];
        try
        {
            for (int i = 0; i < _chain.Length; i++)
            {
                // Shares the immutable native certificate (and, for the leaf, its key) under a new handle.
                copies[i] = new X509Certificate2(_chain[i]);
            }
        }
        catch (CryptographicException e)
        {
            DisposeAll(copies);
            throw new ObjectDisposedException(nameof(X509Svid), $"The X509-SVID {Id} was disposed by its owner: {e.Message}");
        }

        return new X509Svid(Id, copies[0], copies[1..], Hint, ExpiresAt);
    }

    /// <summary>Releases the certificates and the private key, unless the SVID belongs to a source (then nothing happens).</summary>
    public void Dispose()
    {
        if (!_ownedBySource)
        {
            _disposed = true;
            DisposeAll(_chain);
        }
    }

    /// <summary>Hands this SVID to a source: from now on <see cref="Dispose"/> does nothing.</summary>
    internal void MarkOwnedBySource() => _ownedBySource = true;

    private byte[] ExportPkcs8()
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)Certificate.GetECDsaPrivateKey() ?? Certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException("The SVID's private key is not available.");
        return key.ExportPkcs8PrivateKey();
    }

    private delegate void KeyImporter(AsymmetricAlgorithm key, out int bytesRead, ReadOnlySpan<byte> der);

    private static X509Certificate2[] LoadChain(ReadOnlySpan<byte> der, IReadOnlyList<X509Certificate2>? known)
    {
        try
        {
            return CertificateDer.LoadConcatenated(der, "X509-SVID certificate chain", known);
        }
        catch (FormatException e)
        {
            throw new X509SvidException(X509SvidErrorKind.Malformed, e.Message, e);
        }
    }

    private static X509Svid Create(X509Certificate2[] certificates, string? hint, KeyImporter importKey, ReadOnlySpan<byte> keyDer, bool requireWholeInput)
    {
        X509Certificate2? withKey = null;
        try
        {
            X509Certificate2 leaf = certificates[0];
            ReadOnlySpan<byte> leafDer = leaf.RawDataMemory.Span;
            if (!SvidLeafRules.TryCheckLeaf(leafDer, out SpiffeId? id, out CertificateFields fields, out X509SvidErrorKind kind, out string? error))
            {
                throw new X509SvidException(kind, error);
            }

            for (int i = 1; i < certificates.Length; i++)
            {
                if (!SvidLeafRules.TryCheckSigningCertificate(certificates[i].RawDataMemory.Span, i, out _, out error))
                {
                    throw new X509SvidException(X509SvidErrorKind.SigningCertificate, error);
                }
            }

            using AsymmetricAlgorithm key = CreateKeyFor(leaf);
            int bytesRead;
            try
            {
                importKey(key, out bytesRead, keyDer);
            }
            catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException)
            {
                // The inner exception comes from the platform's decoder; it describes structure, not key bytes.
                // PlatformNotSupportedException: the key names a curve the platform does not know (1.3.132.1.35).
                throw new X509SvidException(X509SvidErrorKind.PrivateKey, $"The private key could not be read as a {KeyName(key)} key for the leaf certificate.", e);
            }

            if (requireWholeInput && bytesRead != keyDer.Length)
            {
                throw new X509SvidException(X509SvidErrorKind.PrivateKey, "The private key data has trailing bytes after the key.");
            }

            if (!KeyMatches(key, fields.Spki(leafDer)))
            {
                throw new X509SvidException(X509SvidErrorKind.PrivateKey, $"The private key does not match the public key of the leaf certificate for {id}.");
            }

            withKey = key switch
            {
                ECDsa ec => leaf.CopyWithPrivateKey(ec),
                RSA rsa => leaf.CopyWithPrivateKey(rsa),
                _ => throw new InvalidOperationException("unreachable"),
            };

            var svid = new X509Svid(id, withKey, certificates[1..], hint, fields.NotAfter);
            leaf.Dispose();
            return svid;
        }
        catch (Exception e) when (IsPlatformDecodingFailure(e))
        {
            // The SDK's own rules passed, but the platform's decoder refused something while
            // reading the key or attaching it: still a malformed SVID, never another exception type.
            withKey?.Dispose();
            DisposeAll(certificates);
            throw new X509SvidException(X509SvidErrorKind.Malformed, $"The X509-SVID could not be decoded by the platform ({e.GetType().Name}: {e.Message}).", e);
        }
        catch
        {
            withKey?.Dispose();
            DisposeAll(certificates);
            throw;
        }
    }

    private static bool IsPlatformDecodingFailure(Exception e) =>
        e is CryptographicException or PlatformNotSupportedException or AsnContentException;

    private static AsymmetricAlgorithm CreateKeyFor(X509Certificate2 leaf)
    {
        string? algorithm = leaf.PublicKey.Oid.Value;
        if (algorithm == RsaOid)
        {
            return CreateRsa();
        }

        if (algorithm == EcPublicKeyOid)
        {
            string? curve = null;
            try
            {
                curve = AsnDecoder.ReadObjectIdentifier(leaf.PublicKey.EncodedParameters?.RawData ?? [], AsnEncodingRules.DER, out _);
            }
            catch (AsnContentException)
            {
                // Explicit curve parameters (not a named curve) are not supported.
            }

            if (curve is P256Oid or P384Oid or P521Oid)
            {
                return CreateEcdsa();
            }

            throw new X509SvidException(X509SvidErrorKind.UnsupportedKeyType, $"The leaf certificate's EC key uses curve '{curve ?? "explicit parameters"}'; only P-256, P-384 and P-521 are supported.");
        }

        throw new X509SvidException(X509SvidErrorKind.UnsupportedKeyType, $"The leaf certificate's key algorithm '{algorithm}' is not supported; use RSA or ECDSA (P-256, P-384, P-521).");
    }

    // On Linux, ECDsa.Create()/RSA.Create() return wrapper types that CopyWithPrivateKey does not
    // recognise as OpenSSL keys: it then exports the private parameters and imports them into a
    // new OpenSSL key (a second full key import, ~0.1 ms for P-256 and ~0.6 ms for RSA-2048 on
    // OpenSSL 3.0). With the OpenSSL types it shares the key handle instead. Both paths run the
    // same public-key match, and the key material stays inside OpenSSL either way.
    private static ECDsa CreateEcdsa() => OperatingSystem.IsLinux() ? new ECDsaOpenSsl() : ECDsa.Create();

    private static RSA CreateRsa() => OperatingSystem.IsLinux() ? new RSAOpenSsl() : RSA.Create();

    private static string KeyName(AsymmetricAlgorithm key) => key is RSA ? "RSA" : "ECDSA";

    private static bool KeyMatches(AsymmetricAlgorithm key, ReadOnlySpan<byte> leafSpki)
    {
        Span<byte> buffer = stackalloc byte[1024];
        if (key.TryExportSubjectPublicKeyInfo(buffer, out int written))
        {
            return buffer[..written].SequenceEqual(leafSpki);
        }

        return key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(leafSpki);
    }

    private static string DecodeKeyPem(ReadOnlySpan<char> pem, out byte[] der)
    {
        if (!PemEncoding.TryFind(pem, out PemFields fields))
        {
            throw new X509SvidException(X509SvidErrorKind.PrivateKey, "The private key PEM holds no PEM block.");
        }

        string label = pem[fields.Label].ToString();
        if (label is not ("PRIVATE KEY" or "EC PRIVATE KEY" or "RSA PRIVATE KEY"))
        {
            throw new X509SvidException(X509SvidErrorKind.PrivateKey, $"The private key PEM holds a '{label}' block; expected PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY (unencrypted).");
        }

        if (PemEncoding.TryFind(pem[fields.Location.End..], out _))
        {
            throw new X509SvidException(X509SvidErrorKind.PrivateKey, "The private key PEM holds more than one PEM block; expected exactly one private key.");
        }

        der = new byte[fields.DecodedDataLength];
        if (!Convert.TryFromBase64Chars(pem[fields.Base64Data], der, out _))
        {
            CryptographicOperations.ZeroMemory(der);
            throw new X509SvidException(X509SvidErrorKind.PrivateKey, "The private key PEM block is not valid base64.");
        }

        return label;
    }

    private static void DisposeAll(X509Certificate2?[] certificates)
    {
        foreach (X509Certificate2? certificate in certificates)
        {
            certificate?.Dispose();
        }
    }
}

using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Spiffe.Internal;

/// <summary>Loading certificates from concatenated DER and from PEM.</summary>
internal static class CertificateDer
{
    /// <summary>
    /// Splits concatenated DER certificates (the Workload API's format) and loads each one.
    /// <c>X509CertificateLoader.LoadCertificate</c> silently keeps only the first certificate of
    /// such a blob, so every element is sliced out explicitly.
    /// </summary>
    /// <param name="der">The concatenated DER certificates.</param>
    /// <param name="what">What the data is, for messages.</param>
    /// <param name="known">
    /// Certificates already loaded by the caller: an element whose DER equals one of them byte for
    /// byte becomes a new <see cref="X509Certificate2"/> sharing that certificate's decoded native
    /// handle instead of being decoded again (see <see cref="Reuse"/>).
    /// </param>
    /// <exception cref="FormatException">The data is empty, or not a sequence of DER certificates.</exception>
    internal static X509Certificate2[] LoadConcatenated(ReadOnlySpan<byte> der, string what, IReadOnlyList<X509Certificate2>? known = null)
    {
        if (der.IsEmpty)
        {
            throw new FormatException($"The {what} is empty: expected one or more DER certificates.");
        }

        var certificates = new List<X509Certificate2>(2);
        try
        {
            int offset = 0;
            while (offset < der.Length)
            {
                ReadOnlySpan<byte> rest = der[offset..];
                int consumed;
                try
                {
                    AsnDecoder.ReadEncodedValue(rest, AsnEncodingRules.DER, out _, out _, out consumed);
                }
                catch (AsnContentException e)
                {
                    throw new FormatException($"The {what} is not concatenated DER: certificate {certificates.Count + 1} at byte {offset} is malformed ({e.Message}).", e);
                }

                ReadOnlySpan<byte> element = rest[..consumed];
                X509Certificate2? reused = Reuse(known, element);
                try
                {
                    certificates.Add(reused ?? X509CertificateLoader.LoadCertificate(element));
                }
                catch (CryptographicException e)
                {
                    throw new FormatException($"The {what} holds an element at byte {offset} that is not an X.509 certificate ({e.Message}).", e);
                }

                offset += consumed;
            }
        }
        catch
        {
            foreach (X509Certificate2 c in certificates)
            {
                c.Dispose();
            }

            throw;
        }

        return [.. certificates];
    }

    /// <summary>
    /// A new instance of the certificate in <paramref name="known"/> whose DER is exactly
    /// <paramref name="der"/>, or null. Decoding a certificate costs ~0.1 ms on OpenSSL 3.0 (most
    /// of it in the public key decoder); the copy constructor only takes another reference on the
    /// already-decoded, immutable native certificate, and the copy is disposed independently.
    /// Identical bytes are the identical certificate, so every check made on it is unchanged.
    /// A certificate with a private key is never a template: its copy would carry the key.
    /// </summary>
    internal static X509Certificate2? Reuse(IReadOnlyList<X509Certificate2>? known, ReadOnlySpan<byte> der)
    {
        if (known is null)
        {
            return null;
        }

        for (int i = 0; i < known.Count; i++)
        {
            X509Certificate2 candidate = known[i];
            if (candidate.RawDataMemory.Span.SequenceEqual(der) && !candidate.HasPrivateKey)
            {
                return new X509Certificate2(candidate);
            }
        }

        return null;
    }

    /// <summary>Loads every <c>CERTIFICATE</c> block of a PEM text; any other block is an error.</summary>
    internal static X509Certificate2[] LoadPem(ReadOnlySpan<char> pem, string what)
    {
        var certificates = new List<X509Certificate2>(2);
        try
        {
            while (PemEncoding.TryFind(pem, out PemFields fields))
            {
                ReadOnlySpan<char> label = pem[fields.Label];
                if (!label.SequenceEqual("CERTIFICATE"))
                {
                    throw new FormatException($"The {what} PEM holds a '{label}' block; only CERTIFICATE blocks are allowed.");
                }

                byte[] der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(pem[fields.Base64Data], der, out _))
                {
                    throw new FormatException($"The {what} PEM has a CERTIFICATE block that is not valid base64.");
                }

                try
                {
                    certificates.Add(X509CertificateLoader.LoadCertificate(der));
                }
                catch (CryptographicException e)
                {
                    throw new FormatException($"The {what} PEM has a CERTIFICATE block that is not an X.509 certificate ({e.Message}).", e);
                }

                pem = pem[fields.Location.End..];
            }
        }
        catch
        {
            foreach (X509Certificate2 c in certificates)
            {
                c.Dispose();
            }

            throw;
        }

        if (certificates.Count == 0)
        {
            throw new FormatException($"The {what} PEM holds no CERTIFICATE block.");
        }

        return [.. certificates];
    }

    /// <summary>Concatenates the DER encodings of <paramref name="certificates"/>.</summary>
    internal static byte[] Concatenate(IReadOnlyList<X509Certificate2> certificates)
    {
        int length = 0;
        foreach (X509Certificate2 c in certificates)
        {
            length += c.RawDataMemory.Length;
        }

        byte[] result = new byte[length];
        int offset = 0;
        foreach (X509Certificate2 c in certificates)
        {
            c.RawDataMemory.Span.CopyTo(result.AsSpan(offset));
            offset += c.RawDataMemory.Length;
        }

        return result;
    }

    /// <summary>PEM-encodes <paramref name="certificates"/> as consecutive CERTIFICATE blocks.</summary>
    internal static string ToPem(IReadOnlyList<X509Certificate2> certificates)
    {
        var builder = new StringBuilder();
        foreach (X509Certificate2 c in certificates)
        {
            builder.Append(PemEncoding.Write("CERTIFICATE", c.RawDataMemory.Span)).Append('\n');
        }

        return builder.ToString();
    }
}

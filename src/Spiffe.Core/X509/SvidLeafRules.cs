using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Text;
using Spiffe.Internal;

namespace Spiffe.X509;

/// <summary>
/// The X509-SVID rules a certificate must meet on its own, shared by <see cref="X509Svid"/> (our
/// own SVID from the Workload API) and <see cref="X509SvidValidator"/> (a peer's SVID). Works on the
/// DER encoding (see <see cref="CertificateFields"/> for why). Messages cite the X509-SVID
/// specification section of the rule that is broken.
/// </summary>
internal static class SvidLeafRules
{
    // KeyUsage BIT STRING, first byte (RFC 5280 §4.2.1.3, bit 0 is the most significant).
    private const byte DigitalSignature = 0x80;
    private const byte KeyCertSign = 0x04;
    private const byte CrlSign = 0x02;

    private const int MaxQuotedUriLength = 256;

    /// <summary>
    /// Checks the leaf rules: not a CA (cA=false, no keyCertSign/cRLSign), Key Usage present with
    /// digitalSignature, exactly one URI SAN holding a valid SPIFFE ID with a path, and an EKU (when
    /// present) with both serverAuth and clientAuth.
    /// </summary>
    internal static bool TryCheckLeaf(
        ReadOnlySpan<byte> der,
        [NotNullWhen(true)] out SpiffeId? id,
        out CertificateFields fields,
        out X509SvidErrorKind errorKind,
        [NotNullWhen(false)] out string? error)
    {
        id = null;
        if (!CertificateFields.TryRead(der, out fields))
        {
            return Fail(X509SvidErrorKind.Malformed, "The leaf certificate is not a well-formed X.509 certificate.", out errorKind, out error);
        }

        ReadOnlySpan<byte> san = default, keyUsage = default, basicConstraints = default, extendedKeyUsage = default;
        bool hasSan = false, sanCritical = false, hasKeyUsage = false, hasBasicConstraints = false, hasExtendedKeyUsage = false;
        try
        {
            var reader = new ExtensionReader(fields.Extensions(der));
            while (reader.MoveNext())
            {
                ReadOnlySpan<byte> oid = reader.Oid;
                if (oid.SequenceEqual(ExtensionReader.SubjectAltNameOid))
                {
                    if (hasSan)
                    {
                        return Duplicate("Subject Alternative Name", out errorKind, out error);
                    }

                    hasSan = true;
                    sanCritical = reader.Critical;
                    san = reader.Value;
                }
                else if (oid.SequenceEqual(ExtensionReader.KeyUsageOid))
                {
                    if (hasKeyUsage)
                    {
                        return Duplicate("Key Usage", out errorKind, out error);
                    }

                    hasKeyUsage = true;
                    keyUsage = reader.Value;
                }
                else if (oid.SequenceEqual(ExtensionReader.BasicConstraintsOid))
                {
                    if (hasBasicConstraints)
                    {
                        return Duplicate("Basic Constraints", out errorKind, out error);
                    }

                    hasBasicConstraints = true;
                    basicConstraints = reader.Value;
                }
                else if (oid.SequenceEqual(ExtensionReader.ExtendedKeyUsageOid))
                {
                    if (hasExtendedKeyUsage)
                    {
                        return Duplicate("Extended Key Usage", out errorKind, out error);
                    }

                    hasExtendedKeyUsage = true;
                    extendedKeyUsage = reader.Value;
                }
            }

            // CA-ness first, so a CA certificate presented as a leaf is reported as such (X509-SVID §3.2).
            if (hasBasicConstraints && ReadIsCertificateAuthority(basicConstraints))
            {
                return Fail(X509SvidErrorKind.LeafIsCertificateAuthority, "The leaf certificate is a CA (Basic Constraints cA=true); an X509-SVID leaf must have cA=false and signing certificates must not be used for authentication (X509-SVID §3.2, §4.1, §5.2).", out errorKind, out error);
            }

            if (!hasKeyUsage)
            {
                return Fail(X509SvidErrorKind.KeyUsage, "The leaf certificate has no Key Usage extension; every X509-SVID must carry one (X509-SVID §4.3).", out errorKind, out error);
            }

            byte usage = ReadKeyUsage(keyUsage);
            if ((usage & (KeyCertSign | CrlSign)) != 0)
            {
                return Fail(X509SvidErrorKind.LeafIsCertificateAuthority, "The leaf certificate's Key Usage sets keyCertSign or cRLSign; an X509-SVID leaf must set neither (X509-SVID §4.3, §5.2).", out errorKind, out error);
            }

            if ((usage & DigitalSignature) == 0)
            {
                return Fail(X509SvidErrorKind.KeyUsage, "The leaf certificate's Key Usage lacks digitalSignature, which an X509-SVID leaf must set (X509-SVID §4.3).", out errorKind, out error);
            }

            if (!hasSan)
            {
                return Fail(X509SvidErrorKind.UriSan, "The leaf certificate has no Subject Alternative Name extension; an X509-SVID must have exactly one URI SAN (X509-SVID §2).", out errorKind, out error);
            }

            if (fields.SubjectIsEmpty && !sanCritical)
            {
                return Fail(X509SvidErrorKind.UriSan, "The leaf certificate has an empty subject and a non-critical Subject Alternative Name extension; the SAN extension must then be critical (X509-SVID §3.1, RFC 5280 §4.1.2.6).", out errorKind, out error);
            }

            int uriCount = CountUris(san, out ReadOnlySpan<byte> uri);
            if (uriCount != 1)
            {
                return Fail(
                    X509SvidErrorKind.UriSan,
                    uriCount == 0
                        ? "The leaf certificate has no URI SAN; an X509-SVID must have exactly one (X509-SVID §2)."
                        : $"The leaf certificate has {uriCount} URI SANs; an X509-SVID must have exactly one (X509-SVID §2, §5.2).",
                    out errorKind,
                    out error);
            }

            string uriText = Encoding.Latin1.GetString(uri);
            if (!SpiffeId.TryParse(uriText, out id, out string? idError))
            {
                return Fail(X509SvidErrorKind.InvalidSpiffeId, $"The leaf certificate's URI SAN '{Quote(uriText)}' is not a valid SPIFFE ID (X509-SVID §5.2): {idError}", out errorKind, out error);
            }

            if (id.IsTrustDomainId)
            {
                id = null;
                return Fail(X509SvidErrorKind.InvalidSpiffeId, $"The leaf certificate's SPIFFE ID '{Quote(uriText)}' has no path; a leaf X509-SVID must have a non-root path (X509-SVID §3.1, §5.2).", out errorKind, out error);
            }

            if (hasExtendedKeyUsage && !HasServerAndClientAuth(extendedKeyUsage))
            {
                id = null;
                return Fail(X509SvidErrorKind.ExtendedKeyUsage, "The leaf certificate's Extended Key Usage does not contain both serverAuth and clientAuth, which an X509-SVID must set when the extension is present (X509-SVID §4.4).", out errorKind, out error);
            }
        }
        catch (AsnContentException)
        {
            id = null;
            return Fail(X509SvidErrorKind.Malformed, "The leaf certificate has a malformed extension.", out errorKind, out error);
        }

        errorKind = X509SvidErrorKind.None;
        error = null;
        return true;
    }

    /// <summary>
    /// Checks that a certificate that signs others (an intermediate) is a CA: Basic Constraints
    /// cA=true and Key Usage with keyCertSign (X509-SVID §3.2, §4.1, §4.3).
    /// </summary>
    /// <param name="der">The certificate.</param>
    /// <param name="position">Its position in the chain (1 = the leaf's issuer), for the message.</param>
    /// <param name="fields">The certificate's fields when it is well-formed.</param>
    /// <param name="error">Why it is not a valid signing certificate.</param>
    internal static bool TryCheckSigningCertificate(ReadOnlySpan<byte> der, int position, out CertificateFields fields, [NotNullWhen(false)] out string? error)
    {
        if (!CertificateFields.TryRead(der, out fields))
        {
            error = $"Certificate {position} of the chain is not a well-formed X.509 certificate.";
            return false;
        }

        bool isCa = false;
        byte usage = 0;
        bool hasKeyUsage = false;
        try
        {
            var reader = new ExtensionReader(fields.Extensions(der));
            while (reader.MoveNext())
            {
                if (reader.Oid.SequenceEqual(ExtensionReader.BasicConstraintsOid))
                {
                    isCa = ReadIsCertificateAuthority(reader.Value);
                }
                else if (reader.Oid.SequenceEqual(ExtensionReader.KeyUsageOid))
                {
                    hasKeyUsage = true;
                    usage = ReadKeyUsage(reader.Value);
                }
            }
        }
        catch (AsnContentException)
        {
            error = $"Certificate {position} of the chain has a malformed extension.";
            return false;
        }

        if (!isCa)
        {
            error = $"Certificate {position} of the chain signs other certificates but is not a CA (Basic Constraints cA=true is required, X509-SVID §4.1).";
            return false;
        }

        if (!hasKeyUsage || (usage & KeyCertSign) == 0)
        {
            error = $"Certificate {position} of the chain signs other certificates but its Key Usage lacks keyCertSign (X509-SVID §4.3).";
            return false;
        }

        error = null;
        return true;
    }

    private static bool Duplicate(string extension, out X509SvidErrorKind errorKind, out string error) =>
        Fail(X509SvidErrorKind.Malformed, $"The leaf certificate has more than one {extension} extension (RFC 5280 §4.2).", out errorKind, out error);

    private static bool Fail(X509SvidErrorKind kind, string message, out X509SvidErrorKind errorKind, out string error)
    {
        errorKind = kind;
        error = message;
        return false;
    }

    // Every extension value below is exactly one DER value (RFC 5280 §4.1: extnValue holds "the
    // DER encoding of an ASN.1 value"); anything after it makes the extension malformed. Reading
    // only the first value would also disagree with the platform's decoders, which refuse the
    // trailing data (CopyWithPrivateKey threw for a Key Usage of 03020780 03020780).

    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
    private static bool ReadIsCertificateAuthority(ReadOnlySpan<byte> value)
    {
        AsnDecoder.ReadSequence(value, AsnEncodingRules.DER, out int offset, out int length, out int consumed);
        RequireWhole(consumed, value, "Basic Constraints");
        ReadOnlySpan<byte> content = value.Slice(offset, length);
        return !content.IsEmpty
            && Asn1Tag.Decode(content, out _) == Asn1Tag.Boolean
            && AsnDecoder.ReadBoolean(content, AsnEncodingRules.DER, out _);
    }

    // KeyUsage ::= BIT STRING; every bit the rules test is in the first byte.
    private static byte ReadKeyUsage(ReadOnlySpan<byte> value)
    {
        if (!AsnDecoder.TryReadPrimitiveBitString(value, AsnEncodingRules.DER, out _, out ReadOnlySpan<byte> bits, out int consumed))
        {
            throw new AsnContentException("Key Usage is not a primitive BIT STRING.");
        }

        RequireWhole(consumed, value, "Key Usage");

        return bits.IsEmpty ? (byte)0 : bits[0];
    }

    private static void RequireWhole(int consumed, ReadOnlySpan<byte> value, string extension)
    {
        if (consumed != value.Length)
        {
            throw new AsnContentException($"{extension} has data after its value.");
        }
    }

    // SubjectAltName ::= SEQUENCE OF GeneralName; uniformResourceIdentifier is [6] IA5String.
    private static int CountUris(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> firstUri)
    {
        firstUri = default;
        AsnDecoder.ReadSequence(value, AsnEncodingRules.DER, out int offset, out int length, out int sequenceConsumed);
        RequireWhole(sequenceConsumed, value, "Subject Alternative Name");
        ReadOnlySpan<byte> names = value.Slice(offset, length);
        var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
        int count = 0;
        while (!names.IsEmpty)
        {
            Asn1Tag tag = AsnDecoder.ReadEncodedValue(names, AsnEncodingRules.DER, out int contentOffset, out int contentLength, out int consumed);
            if (tag.HasSameClassAndValue(uriTag) && tag.IsConstructed)
            {
                // Not a DER IA5String; refuse rather than let a URI hide from the count.
                throw new AsnContentException("URI SAN with a constructed encoding.");
            }

            if (tag == uriTag)
            {
                if (count == 0)
                {
                    firstUri = names.Slice(contentOffset, contentLength);
                }

                count++;
            }

            names = names[consumed..];
        }

        return count;
    }

    // ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (OBJECT IDENTIFIER)
    private static bool HasServerAndClientAuth(ReadOnlySpan<byte> value)
    {
        AsnDecoder.ReadSequence(value, AsnEncodingRules.DER, out int offset, out int length, out int sequenceConsumed);
        RequireWhole(sequenceConsumed, value, "Extended Key Usage");
        ReadOnlySpan<byte> purposes = value.Slice(offset, length);
        bool server = false, client = false;
        while (!purposes.IsEmpty)
        {
            Asn1Tag tag = AsnDecoder.ReadEncodedValue(purposes, AsnEncodingRules.DER, out int contentOffset, out int contentLength, out int consumed);
            if (tag != Asn1Tag.ObjectIdentifier)
            {
                throw new AsnContentException("Extended Key Usage holds something other than an OID.");
            }

            ReadOnlySpan<byte> oid = purposes.Slice(contentOffset, contentLength);
            server |= oid.SequenceEqual(ExtensionReader.ServerAuthOid);
            client |= oid.SequenceEqual(ExtensionReader.ClientAuthOid);
            purposes = purposes[consumed..];
        }

        return server && client;
    }

    // The URI comes from a peer: bound what reaches an error message or a log.
    // Non-printable characters are replaced so a crafted SAN cannot forge log lines.
    private static string Quote(string uri)
    {
        bool truncated = uri.Length > MaxQuotedUriLength;
        ReadOnlySpan<char> shown = truncated ? uri.AsSpan(0, MaxQuotedUriLength) : uri;
        if (!truncated && !shown.ContainsAnyExceptInRange((char)0x20, (char)0x7E))
        {
            return uri;
        }

        var builder = new StringBuilder(shown.Length + 1);
        foreach (char c in shown)
        {
            builder.Append(c is >= (char)0x20 and <= (char)0x7E ? c : '?');
        }

        return truncated ? builder.Append('…').ToString() : builder.ToString();
    }
}

using System.Formats.Asn1;

namespace Spiffe.Internal;

/// <summary>
/// The few TBSCertificate fields the SVID rules need, read straight from a certificate's DER in
/// one pass and without allocating. <c>X509Certificate2.Extensions</c> materialises an object per
/// extension and <c>NotAfter</c> converts to local time on every call; on the validation hot path
/// both cost more than the whole rule check, so the rules work on the encoding instead.
/// </summary>
/// <remarks>Offsets are relative to the DER span the fields were read from.</remarks>
internal readonly struct CertificateFields
{
    private CertificateFields(DateTimeOffset notBefore, DateTimeOffset notAfter, bool subjectIsEmpty, int spkiOffset, int spkiLength, int extensionsOffset, int extensionsLength)
    {
        NotBefore = notBefore;
        NotAfter = notAfter;
        SubjectIsEmpty = subjectIsEmpty;
        SpkiOffset = spkiOffset;
        SpkiLength = spkiLength;
        ExtensionsOffset = extensionsOffset;
        ExtensionsLength = extensionsLength;
    }

    internal DateTimeOffset NotBefore { get; }

    internal DateTimeOffset NotAfter { get; }

    /// <summary>The subject is an empty Name (RFC 5280 §4.1.2.6: the SAN extension must then be critical).</summary>
    internal bool SubjectIsEmpty { get; }

    /// <summary>Where the whole SubjectPublicKeyInfo encoding (tag included) starts.</summary>
    internal int SpkiOffset { get; }

    internal int SpkiLength { get; }

    /// <summary>Where the content of the <c>Extensions</c> SEQUENCE starts; -1 when the certificate has none.</summary>
    internal int ExtensionsOffset { get; }

    internal int ExtensionsLength { get; }

    internal ReadOnlySpan<byte> Spki(ReadOnlySpan<byte> der) => der.Slice(SpkiOffset, SpkiLength);

    internal ReadOnlySpan<byte> Extensions(ReadOnlySpan<byte> der) =>
        ExtensionsOffset < 0 ? default : der.Slice(ExtensionsOffset, ExtensionsLength);

    /// <summary>Reads the fields of a DER certificate; false when it is not a well-formed X.509 certificate.</summary>
    internal static bool TryRead(ReadOnlySpan<byte> der, out CertificateFields fields)
    {
        fields = default;
        try
        {
            AsnDecoder.ReadSequence(der, AsnEncodingRules.DER, out int certOffset, out int certLength, out int certConsumed);
            if (certConsumed != der.Length)
            {
                return false;
            }

            ReadOnlySpan<byte> cert = der.Slice(certOffset, certLength);
            AsnDecoder.ReadSequence(cert, AsnEncodingRules.DER, out int tbsOffset, out int tbsLength, out _);
            int tbsBase = certOffset + tbsOffset;
            ReadOnlySpan<byte> tbs = cert.Slice(tbsOffset, tbsLength);
            int pos = 0;

            // version [0] EXPLICIT, optional (absent means v1, which has no extensions).
            if (Asn1Tag.Decode(tbs, out _).HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                pos += Skip(tbs);
            }

            pos += Skip(tbs[pos..]); // serialNumber
            pos += Skip(tbs[pos..]); // signature AlgorithmIdentifier
            pos += Skip(tbs[pos..]); // issuer

            AsnDecoder.ReadSequence(tbs[pos..], AsnEncodingRules.DER, out int validityOffset, out int validityLength, out int validityConsumed);
            ReadOnlySpan<byte> validity = tbs.Slice(pos + validityOffset, validityLength);
            DateTimeOffset notBefore = ReadTime(validity, out int timeConsumed);
            DateTimeOffset notAfter = ReadTime(validity[timeConsumed..], out int secondConsumed);
            if (timeConsumed + secondConsumed != validity.Length)
            {
                return false;
            }

            pos += validityConsumed;

            AsnDecoder.ReadSequence(tbs[pos..], AsnEncodingRules.DER, out _, out int subjectLength, out int subjectConsumed);
            pos += subjectConsumed;

            int spkiOffset = tbsBase + pos;
            int spkiLength = Skip(tbs[pos..]);
            pos += spkiLength;

            int extensionsOffset = -1;
            int extensionsLength = 0;
            var extensionsTag = new Asn1Tag(TagClass.ContextSpecific, 3, isConstructed: true);
            while (pos < tbs.Length)
            {
                ReadOnlySpan<byte> rest = tbs[pos..];
                if (Asn1Tag.Decode(rest, out _) == extensionsTag)
                {
                    AsnDecoder.ReadSequence(rest, AsnEncodingRules.DER, out int wrapperOffset, out int wrapperLength, out int wrapperConsumed, extensionsTag);
                    ReadOnlySpan<byte> wrapper = rest.Slice(wrapperOffset, wrapperLength);
                    AsnDecoder.ReadSequence(wrapper, AsnEncodingRules.DER, out int listOffset, out int listLength, out int listConsumed);
                    if (listConsumed != wrapper.Length)
                    {
                        return false;
                    }

                    extensionsOffset = tbsBase + pos + wrapperOffset + listOffset;
                    extensionsLength = listLength;
                    pos += wrapperConsumed;
                }
                else
                {
                    pos += Skip(rest); // issuerUniqueID [1], subjectUniqueID [2]
                }
            }

            fields = new CertificateFields(notBefore, notAfter, subjectLength == 0, spkiOffset, spkiLength, extensionsOffset, extensionsLength);
            return true;
        }
        catch (AsnContentException)
        {
            return false;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    private static int Skip(ReadOnlySpan<byte> source)
    {
        AsnDecoder.ReadEncodedValue(source, AsnEncodingRules.DER, out _, out _, out int consumed);
        return consumed;
    }

    private static DateTimeOffset ReadTime(ReadOnlySpan<byte> source, out int consumed)
    {
        Asn1Tag tag = Asn1Tag.Decode(source, out _);
        return tag.HasSameClassAndValue(Asn1Tag.UtcTime)
            ? AsnDecoder.ReadUtcTime(source, AsnEncodingRules.DER, out consumed)
            : AsnDecoder.ReadGeneralizedTime(source, AsnEncodingRules.DER, out consumed);
    }
}

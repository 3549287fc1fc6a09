using System.Formats.Asn1;

namespace Spiffe.Internal;

/// <summary>
/// Walks the content of an <c>Extensions</c> SEQUENCE (see <see cref="CertificateFields.Extensions"/>)
/// one <c>Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue }</c> at a time, without allocating.
/// </summary>
internal ref struct ExtensionReader
{
    /// <summary>DER content bytes of the OIDs the SVID rules look at.</summary>
    internal static ReadOnlySpan<byte> SubjectAltNameOid => [0x55, 0x1D, 0x11];          // 2.5.29.17

    internal static ReadOnlySpan<byte> KeyUsageOid => [0x55, 0x1D, 0x0F];                // 2.5.29.15

    internal static ReadOnlySpan<byte> BasicConstraintsOid => [0x55, 0x1D, 0x13];        // 2.5.29.19

    internal static ReadOnlySpan<byte> ExtendedKeyUsageOid => [0x55, 0x1D, 0x25];        // 2.5.29.37

    internal static ReadOnlySpan<byte> ServerAuthOid => [0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]; // 1.3.6.1.5.5.7.3.1

    internal static ReadOnlySpan<byte> ClientAuthOid => [0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]; // 1.3.6.1.5.5.7.3.2

    private ReadOnlySpan<byte> _rest;

    internal ExtensionReader(ReadOnlySpan<byte> extensionsContent) => _rest = extensionsContent;

    /// <summary>The content bytes of the current extension's OID.</summary>
    internal ReadOnlySpan<byte> Oid { get; private set; }

    internal bool Critical { get; private set; }

    /// <summary>The content of the current extension's extnValue OCTET STRING (the extension's own DER).</summary>
    internal ReadOnlySpan<byte> Value { get; private set; }

    /// <summary>Moves to the next extension; false at the end.</summary>
    /// <exception cref="AsnContentException">The encoding is malformed.</exception>
    internal bool MoveNext()
    {
        if (_rest.IsEmpty)
        {
            return false;
        }

        AsnDecoder.ReadSequence(_rest, AsnEncodingRules.DER, out int offset, out int length, out int consumed);
        ReadOnlySpan<byte> extension = _rest.Slice(offset, length);
        _rest = _rest[consumed..];

        Asn1Tag tag = AsnDecoder.ReadEncodedValue(extension, AsnEncodingRules.DER, out int oidOffset, out int oidLength, out int oidConsumed);
        if (tag != Asn1Tag.ObjectIdentifier)
        {
            throw new AsnContentException("Extension without an OID.");
        }

        Oid = extension.Slice(oidOffset, oidLength);
        extension = extension[oidConsumed..];

        Critical = false;
        if (!extension.IsEmpty && Asn1Tag.Decode(extension, out _) == Asn1Tag.Boolean)
        {
            Critical = AsnDecoder.ReadBoolean(extension, AsnEncodingRules.DER, out int booleanConsumed);
            extension = extension[booleanConsumed..];
        }

        if (!AsnDecoder.TryReadPrimitiveOctetString(extension, AsnEncodingRules.DER, out ReadOnlySpan<byte> value, out int valueConsumed)
            || valueConsumed != extension.Length)
        {
            throw new AsnContentException("Extension value is not a single OCTET STRING.");
        }

        Value = value;
        return true;
    }
}

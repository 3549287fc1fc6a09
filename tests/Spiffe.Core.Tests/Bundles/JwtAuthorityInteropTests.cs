using System.Buffers.Text;
using System.Text;
using Spiffe.Bundles;
using Spiffe.Internal;

namespace Spiffe.Core.Tests.Bundles;

/// <summary>Signature checks against the ES256 example of RFC 7515 Appendix A.3 (produced by another implementation).</summary>
public class JwtAuthorityInteropTests
{
    private const string SigningInput = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

    private const string Signature = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

    private const string Jwks = "{\"keys\":[{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"rfc7515\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

    [Theory]
    [InlineData("rfc-vector", JwtAlgorithm.ES256, true)]
    [InlineData("rfc-vector", JwtAlgorithm.ES384, false)]
    [InlineData("flipped-bit", JwtAlgorithm.ES256, false)]
    [InlineData("der-encoded", JwtAlgorithm.ES256, false)]
    [InlineData("truncated", JwtAlgorithm.ES256, false)]
    internal void Verify_Rfc7515A3Example_OnlyTheExactRawSignatureVerifies(string name, JwtAlgorithm algorithm, bool expected)
    {
        JwtAuthority authority = Assert.Single(JwtBundle.Parse(TrustDomain.Parse("example.org"), Jwks).JwtAuthorities);
        byte[] signature = Base64Url.DecodeFromChars(Signature);
        signature = name switch
        {
            "flipped-bit" => [.. signature[..10], (byte)(signature[10] ^ 0x01), .. signature[11..]],
            "der-encoded" => ToDer(signature),
            "truncated" => signature[..63],
            _ => signature,
        };

        Assert.Equal(expected, authority.Verify(algorithm, Encoding.ASCII.GetBytes(SigningInput), signature));
    }

    private static byte[] ToDer(byte[] rs)
    {
        // Re-encode R‖S as an ASN.1 SEQUENCE of two INTEGERs, the form JWS forbids.
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteIntegerUnsigned(rs.AsSpan(0, 32));
            writer.WriteIntegerUnsigned(rs.AsSpan(32, 32));
        }

        return writer.Encode();
    }
}

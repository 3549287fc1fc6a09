using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Spiffe.Testing;

namespace Spiffe.Core.Tests.Robustness;

/// <summary>
/// The malformed inputs of issue 8 (found by fuzzing and review), built fresh so they can also be
/// pushed through a live Workload API. Shared with the Workload API and fuzz tests.
/// </summary>
internal static class MalformedInputs
{
    /// <summary>A Key Usage whose extnValue holds two BIT STRINGs: the platform's decoder refuses the trailing one.</summary>
    public static readonly byte[] KeyUsageWithTrailingData = [0x03, 0x02, 0x07, 0x80, 0x03, 0x02, 0x07, 0x80];

    /// <summary>A valid X509-SVID for a P-521 leaf whose PKCS#8 key names curve 1.3.132.1.35 instead of 1.3.132.0.35.</summary>
    public static TestX509SvidMaterial UnknownCurveMaterial(TestCertificateAuthority ca, SpiffeId id, out byte[] patchedKey)
    {
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(id, new TestX509SvidOptions { KeyType = TestKeyType.EcdsaP521 });
        patchedKey = material.PrivateKeyPkcs8;
        ReadOnlySpan<byte> p521 = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23];
        int patched = 0;
        for (int i = 0; i + p521.Length <= patchedKey.Length; i++)
        {
            if (patchedKey.AsSpan(i, p521.Length).SequenceEqual(p521))
            {
                patchedKey[i + 5] = 0x01; // 1.3.132.0.35 → 1.3.132.1.35
                patched++;
            }
        }

        Assert.True(patched > 0, "the P-521 key must name its curve");
        return material;
    }

    /// <summary>A leaf whose Key Usage is <see cref="KeyUsageWithTrailingData"/>; everything else valid.</summary>
    public static TestX509SvidMaterial KeyUsageTrailingDataMaterial(TestCertificateAuthority ca, SpiffeId id) =>
        ca.CreateX509SvidMaterial(id, new TestX509SvidOptions
        {
            KeyUsage = null,
            AdditionalExtensions = [new X509Extension("2.5.29.15", KeyUsageWithTrailingData, critical: true)],
        });

    /// <summary>A JWK Set whose one jwt-svid key (a valid P-256 key) has a <c>kid</c> of invalid UTF-8 (0xFF).</summary>
    public static byte[] JwksWithInvalidUtf8Kid()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ECParameters p = key.ExportParameters(false);
        byte[] before = Encoding.ASCII.GetBytes("{\"keys\":[{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"crv\":\"P-256\",\"kid\":\"");
        byte[] after = Encoding.ASCII.GetBytes($"\",\"x\":\"{Base64Url.EncodeToString(p.Q.X)}\",\"y\":\"{Base64Url.EncodeToString(p.Q.Y)}\"}}]}}");
        return [.. before, 0xFF, .. after];
    }

    /// <summary>A JWK Set whose key has <c>"kty":"\ud800"</c> (an unpaired surrogate escape).</summary>
    public static byte[] JwksWithLoneSurrogateKty => Encoding.ASCII.GetBytes("{\"keys\":[{\"kty\":\"\\ud800\",\"use\":\"jwt-svid\",\"kid\":\"k\"}]}");

    /// <summary><c>{"\udc00":[]}</c>: an unpaired surrogate escape as a member name.</summary>
    public static byte[] LoneSurrogateMemberName => Encoding.ASCII.GetBytes("{\"\\udc00\":[]}");

    /// <summary>
    /// A CA certificate (P-256) whose public key point is written with prefix 07 ("hybrid, odd y")
    /// while its y is even: the certificate decodes, its key does not.
    /// </summary>
    public static byte[] CaWithEcPointPrefix07()
    {
        for (int attempt = 0; attempt < 64; attempt++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            if ((key.ExportParameters(false).Q.Y![^1] & 1) != 0)
            {
                continue;
            }

            var request = new CertificateRequest("CN=Point 07 CA", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            byte[] der = certificate.RawData;
            ReadOnlySpan<byte> uncompressedPoint = [0x03, 0x42, 0x00, 0x04];
            int at = der.AsSpan().IndexOf(uncompressedPoint);
            Assert.True(at > 0);
            der[at + 3] = 0x07;
            return der;
        }

        throw new InvalidOperationException("64 keys in a row had an odd y.");
    }

    /// <summary>An x509-svid JWK for <paramref name="der"/>.</summary>
    public static string X509Jwk(byte[] der) => "{\"kty\":\"EC\",\"use\":\"x509-svid\",\"x5c\":[\"" + Convert.ToBase64String(der) + "\"]}";

    /// <summary>An (unsigned, ES256) compact JWS with <paramref name="payloadJson"/> as its payload bytes.</summary>
    public static string Token(byte[] payloadJson, string header = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}") =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header)) + "." + Base64Url.EncodeToString(payloadJson) + "." + Base64Url.EncodeToString(new byte[64]);

    /// <summary>JWT-SVID claims whose <c>sub</c> is an unpaired surrogate escape.</summary>
    public static byte[] ClaimsWithLoneSurrogateSubject => Encoding.ASCII.GetBytes("{\"sub\":\"\\ud800\",\"aud\":\"svc\",\"exp\":4102444800}");

    /// <summary>JWT-SVID claims (valid sub, aud, exp) plus a claim whose value is invalid UTF-8.</summary>
    public static byte[] ClaimsWithInvalidUtf8 =>
        [.. Encoding.ASCII.GetBytes("{\"sub\":\"spiffe://example.org/web\",\"aud\":\"svc\",\"exp\":4102444800,\"x\":\""), 0xC3, 0x28, .. Encoding.ASCII.GetBytes("\"}")];
}

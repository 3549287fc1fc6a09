using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Spiffe.Core.Tests.Robustness;
using Spiffe.Testing;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.Fuzz.Tests;

/// <summary>
/// The checked-in seed corpus (corpus/&lt;parser&gt;/…, copied next to the test assembly): valid
/// inputs of every parser plus issue 8's reproducers (files named <c>reproducer-*</c>).
/// <see cref="Write"/> regenerates it (see README.md); certificates are valid 2026-2039 and the fuzz
/// clock is fixed at <see cref="Now"/>, so the seeds never expire.
/// </summary>
internal static class Corpus
{
    public static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly TrustDomain Domain = TrustDomain.Parse("example.org");

    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "corpus");

    public static IReadOnlyList<string> Files(string parser, string pattern = "*") =>
        [.. System.IO.Directory.GetFiles(Path.Combine(Directory, parser), pattern).Order(StringComparer.Ordinal)];

    public static IReadOnlyList<byte[]> Bytes(string parser, string pattern = "*") => [.. Files(parser, pattern).Select(File.ReadAllBytes)];

    public static IReadOnlyList<string> Lines(string parser) =>
        [.. Files(parser).SelectMany(f => File.ReadAllLines(f, Encoding.UTF8)).Where(l => l.Length > 0)];

    /// <summary>(chain, key) pairs of corpus/x509-svid.</summary>
    public static IReadOnlyList<(byte[] Chain, byte[] Key)> Svids() =>
        [.. Files("x509-svid", "*.chain.der").Select(f => (File.ReadAllBytes(f), File.ReadAllBytes(f.Replace(".chain.der", ".key.der", StringComparison.Ordinal))))];

    /// <summary>The key that signed the JWT-SVID seeds (a throwaway test key; its JWK is in jwt-bundle/valid.json).</summary>
    public static ECDsa SigningKey()
    {
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(File.ReadAllBytes(Path.Combine(Directory, "jwt-svid", "fuzz-signing-key.p8.der")), out _);
        return key;
    }

    public static string Sign(ECDsa key, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
        string input = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(payload);
        byte[] signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return input + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>Regenerates the corpus in the source tree.</summary>
    public static void Write([CallerFilePath] string here = "")
    {
        string root = Path.Combine(Path.GetDirectoryName(here)!, "corpus");
        void Put(string parser, string name, byte[] data)
        {
            System.IO.Directory.CreateDirectory(Path.Combine(root, parser));
            File.WriteAllBytes(Path.Combine(root, parser, name), data);
        }

        void Text(string parser, string name, string text) => Put(parser, name, Encoding.UTF8.GetBytes(text));

        Text("spiffe-id", "seeds.txt", string.Join('\n', "spiffe://example.org/web", "spiffe://example.org", "spiffe://a-b.c_d.example/ns/prod/sa/x.y-z_", "spiffe://example.org/a/b/c", "spiffe://example.org/%41", "SPIFFE://example.org/x", "spiffe://example.org/a/../b", "spiffe://example.org/a//b", "spiffe://user@example.org:8443/x") + "\n");
        Text("trust-domain", "seeds.txt", string.Join('\n', "example.org", "spiffe://example.org", "a.b-c_d", "Example.org", "spiffe://example.org/path", "exa mple.org") + "\n");

        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var caOptions = new TestCertificateAuthorityOptions { WithIntermediate = true, TimeProvider = clock, NotAfter = new DateTimeOffset(2040, 1, 1, 0, 0, 0, TimeSpan.Zero) };
        using var ca = TestCertificateAuthority.Create(Domain, caOptions);
        using var rsaCa = TestCertificateAuthority.Create(Domain, new TestCertificateAuthorityOptions { KeyType = TestKeyType.Rsa2048, TimeProvider = clock, NotAfter = caOptions.NotAfter });
        using var partner = TestCertificateAuthority.Create(TrustDomain.Parse("partner.org"), new TestCertificateAuthorityOptions { TimeProvider = clock, NotAfter = caOptions.NotAfter });
        var web = SpiffeId.Parse("spiffe://example.org/web");
        var lifetime = new TestX509SvidOptions { TimeToLive = TimeSpan.FromDays(365 * 13) };
        TestX509SvidMaterial ec = ca.CreateX509SvidMaterial(web, lifetime);
        TestX509SvidMaterial rsa = rsaCa.CreateX509SvidMaterial(web, new TestX509SvidOptions { TimeToLive = lifetime.TimeToLive, KeyType = TestKeyType.Rsa2048 });
        TestX509SvidMaterial unknownCurve = MalformedInputs.UnknownCurveMaterial(ca, web, out byte[] unknownCurveKey);
        TestX509SvidMaterial keyUsage = MalformedInputs.KeyUsageTrailingDataMaterial(ca, web);
        Put("x509-svid", "ec-intermediate.chain.der", ec.ChainDer);
        Put("x509-svid", "ec-intermediate.key.der", ec.PrivateKeyPkcs8);
        Put("x509-svid", "rsa.chain.der", rsa.ChainDer);
        Put("x509-svid", "rsa.key.der", rsa.PrivateKeyPkcs8);
        Put("x509-svid", "reproducer-key-unknown-curve.chain.der", unknownCurve.ChainDer);
        Put("x509-svid", "reproducer-key-unknown-curve.key.der", unknownCurveKey);
        Put("x509-svid", "reproducer-key-usage-trailing-data.chain.der", keyUsage.ChainDer);
        Put("x509-svid", "reproducer-key-usage-trailing-data.key.der", keyUsage.PrivateKeyPkcs8);

        byte[] rootDer = ca.RootCertificate.RawData;
        Put("x509-bundle", "root.der", rootDer);
        Put("x509-bundle", "root-and-intermediate.der", [.. rootDer, .. ca.IntermediateCertificate!.RawData]);
        Put("x509-bundle", "rsa-root.der", rsaCa.RootCertificate.RawData);

        using var signing = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Put("jwt-svid", "fuzz-signing-key.p8.der", signing.ExportPkcs8PrivateKey());
        ECParameters q = signing.ExportParameters(false);
        string fuzzJwk = $"{{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"fuzz-1\",\"crv\":\"P-256\",\"x\":\"{Base64Url.EncodeToString(q.Q.X)}\",\"y\":\"{Base64Url.EncodeToString(q.Q.Y)}\"}}";
        using var rsaKey = RSA.Create(2048);
        RSAParameters r = rsaKey.ExportParameters(false);
        string rsaJwk = $"{{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"n\":\"{Base64Url.EncodeToString(r.Modulus)}\",\"e\":\"{Base64Url.EncodeToString(r.Exponent)}\"}}";
        byte[] jwks = Encoding.UTF8.GetBytes($"{{\"keys\":[{fuzzJwk},{rsaJwk}]}}");
        Put("jwt-bundle", "valid.json", jwks);
        Put("jwt-bundle", "reproducer-invalid-utf8-kid.json", MalformedInputs.JwksWithInvalidUtf8Kid());
        Put("jwt-bundle", "reproducer-lone-surrogate-kty.json", MalformedInputs.JwksWithLoneSurrogateKty);
        Put("jwt-bundle", "reproducer-lone-surrogate-member.json", MalformedInputs.LoneSurrogateMemberName);

        Text("spiffe-bundle", "valid.json", $"{{\"keys\":[{MalformedInputs.X509Jwk(rootDer)},{fuzzJwk}],\"spiffe_sequence\":7,\"spiffe_refresh_hint\":300}}");
        Text("spiffe-bundle", "rsa-root.json", $"{{\"keys\":[{MalformedInputs.X509Jwk(rsaCa.RootCertificate.RawData).Replace("\"EC\"", "\"RSA\"", StringComparison.Ordinal)}]}}");
        Text("spiffe-bundle", "reproducer-ec-point-07.json", $"{{\"keys\":[{MalformedInputs.X509Jwk(MalformedInputs.CaWithEcPointPrefix07())}]}}");
        Put("spiffe-bundle", "reproducer-lone-surrogate-member.json", MalformedInputs.LoneSurrogateMemberName);

        byte[] claims = Encoding.UTF8.GetBytes("{\"sub\":\"spiffe://example.org/web\",\"aud\":[\"svc\",\"other\"],\"exp\":2177452800,\"iat\":1767225600}");
        Text("jwt-svid", "valid-kid.txt", Sign(signing, "{\"alg\":\"ES256\",\"kid\":\"fuzz-1\",\"typ\":\"JWT\"}"u8, claims));
        Text("jwt-svid", "valid-no-kid.txt", Sign(signing, "{\"alg\":\"ES256\"}"u8, claims));
        Text("jwt-svid", "reproducer-lone-surrogate-sub.txt", MalformedInputs.Token(MalformedInputs.ClaimsWithLoneSurrogateSubject));
        Text("jwt-svid", "reproducer-invalid-utf8-claim.txt", MalformedInputs.Token(MalformedInputs.ClaimsWithInvalidUtf8));
        Text("jwt-svid", "reproducer-lone-surrogate-kid.txt", Sign(signing, "{\"alg\":\"ES256\",\"kid\":\"\\udfff\"}"u8, claims));

        X509SVID Svid(TestX509SvidMaterial m, byte[]? key = null) => new()
        {
            SpiffeId = web.ToString(),
            X509Svid = ByteString.CopyFrom(m.ChainDer),
            X509SvidKey = ByteString.CopyFrom(key ?? m.PrivateKeyPkcs8),
            Bundle = ByteString.CopyFrom(rootDer),
            Hint = "internal",
        };
        var valid = new X509SVIDResponse { Svids = { Svid(ec) } };
        valid.FederatedBundles.Add("spiffe://partner.org", ByteString.CopyFrom(partner.RootCertificate.RawData));
        Put("workload-api", "x509svid-valid.pb", valid.ToByteArray());
        Put("workload-api", "x509svid-reproducer-key-unknown-curve.pb", new X509SVIDResponse { Svids = { Svid(unknownCurve, unknownCurveKey) } }.ToByteArray());
        Put("workload-api", "x509svid-reproducer-key-usage-trailing-data.pb", new X509SVIDResponse { Svids = { Svid(keyUsage) } }.ToByteArray());
        var duplicateFederated = new X509SVIDResponse { Svids = { Svid(ec) } };
        duplicateFederated.FederatedBundles.Add("partner.org", ByteString.CopyFrom(partner.RootCertificate.RawData));
        duplicateFederated.FederatedBundles.Add("spiffe://partner.org", ByteString.CopyFrom(partner.RootCertificate.RawData));
        Put("workload-api", "x509svid-reproducer-duplicate-federated-keys.pb", duplicateFederated.ToByteArray());

        var bundles = new X509BundlesResponse();
        bundles.Bundles.Add("spiffe://example.org", ByteString.CopyFrom(rootDer));
        bundles.Bundles.Add("spiffe://partner.org", ByteString.CopyFrom(partner.RootCertificate.RawData));
        Put("workload-api", "x509bundles-valid.pb", bundles.ToByteArray());
        bundles.Bundles.Add("partner.org", ByteString.CopyFrom(partner.RootCertificate.RawData));
        Put("workload-api", "x509bundles-reproducer-duplicate-keys.pb", bundles.ToByteArray());

        JWTBundlesResponse Jwt(params (string Key, byte[] Jwks)[] entries)
        {
            var response = new JWTBundlesResponse();
            foreach ((string key, byte[] value) in entries)
            {
                response.Bundles.Add(key, ByteString.CopyFrom(value));
            }

            return response;
        }

        Put("workload-api", "jwtbundles-valid.pb", Jwt(("spiffe://example.org", jwks)).ToByteArray());
        Put("workload-api", "jwtbundles-reproducer-invalid-utf8-kid.pb", Jwt(("spiffe://example.org", MalformedInputs.JwksWithInvalidUtf8Kid())).ToByteArray());
        Put("workload-api", "jwtbundles-reproducer-lone-surrogate-kty.pb", Jwt(("spiffe://example.org", MalformedInputs.JwksWithLoneSurrogateKty)).ToByteArray());
        Put("workload-api", "jwtbundles-reproducer-duplicate-keys.pb", Jwt(("spiffe://example.org", jwks), ("example.org", jwks)).ToByteArray());
        var jwtSvids = new JWTSVIDResponse { Svids = { new JWTSVID { SpiffeId = web.ToString(), Svid = Sign(signing, "{\"alg\":\"ES256\",\"kid\":\"fuzz-1\"}"u8, claims), Hint = "internal" } } };
        Put("workload-api", "jwtsvid-valid.pb", jwtSvids.ToByteArray());
    }
}

extern alias sdk;

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.X509;
using SdkProtocol = sdk::Spiffe.WorkloadApi.Protocol;
using SdkWorkloadApi = sdk::Spiffe.WorkloadApi;

namespace Spiffe.Benchmarks;

/// <summary>
/// The per-rotation parse cost: what the SDK does with one <c>X509SVIDResponse</c> (leaf +
/// intermediate + PKCS#8 key, the own bundle holding the root). The baseline is the least raw .NET
/// work that yields a usable certificate with its key: two certificate loads, the key import and
/// <c>CopyWithPrivateKey</c>, with no SVID rule and no chain check. "known" rows are the rotation
/// case: the intermediate and the root are unchanged since the previous message, and the parse
/// gets them as <c>knownCertificates</c> (what each Workload API watch does).
/// </summary>
[MemoryDiagnoser]
public class X509SvidParseBenchmarks
{
    private static readonly SpiffeId s_id = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web");

    private TestCertificateAuthority _ca = null!;
    private byte[] _chainDer = null!;
    private byte[] _leafDer = null!;
    private byte[] _intermediateDer = null!;
    private byte[] _key = null!;
    private byte[] _rootDer = null!;
    private SdkProtocol.X509SVIDResponse _response = null!;
    private SdkWorkloadApi.Internal.ResponseParser _parser = null!;
    private SdkWorkloadApi.Internal.KnownCertificates _known = null!;
    private X509Certificate2[] _knownIntermediate = null!;
    private X509Certificate2[] _knownRoot = null!;

    [Params(TestKeyType.EcdsaP256, TestKeyType.Rsa2048)]
    public TestKeyType KeyType { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ca = TestCertificateAuthority.Create(s_id.TrustDomain, new() { WithIntermediate = true, KeyType = KeyType });
        TestX509SvidMaterial material = _ca.CreateX509SvidMaterial(s_id, new TestX509SvidOptions { KeyType = KeyType });
        _chainDer = material.ChainDer;
        _leafDer = material.CertificatesDer[0].ToArray();
        _intermediateDer = material.CertificatesDer[1].ToArray();
        _key = material.PrivateKeyPkcs8;
        _rootDer = _ca.RootCertificate.RawData;
        _response = new SdkProtocol.X509SVIDResponse();
        _response.Svids.Add(new SdkProtocol.X509SVID
        {
            SpiffeId = s_id.ToString(),
            X509Svid = ByteString.CopyFrom(_chainDer),
            X509SvidKey = ByteString.CopyFrom(_key),
            Bundle = ByteString.CopyFrom(_rootDer),
        });
        _parser = new SdkWorkloadApi.Internal.ResponseParser(SdkWorkloadApi.WorkloadApiAddress.Parse("unix:///tmp/benchmark.sock"), TimeProvider.System);
        _known = new SdkWorkloadApi.Internal.KnownCertificates();
        using (_known.Remember(_parser.ParseX509Context(_response)))
        {
        }

        _knownIntermediate = [X509CertificateLoader.LoadCertificate(_intermediateDer)];
        _knownRoot = [X509CertificateLoader.LoadCertificate(_rootDer)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _known.Dispose();
        _knownIntermediate[0].Dispose();
        _knownRoot[0].Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw: 2 loads + key import + CopyWithPrivateKey")]
    public bool RawMinimum()
    {
        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(_leafDer);
        using X509Certificate2 intermediate = X509CertificateLoader.LoadCertificate(_intermediateDer);
        using X509Certificate2 withKey = KeyType == TestKeyType.Rsa2048 ? WithRsaKey(leaf, RSA.Create()) : WithEcKey(leaf, ECDsa.Create());
        return withKey.HasPrivateKey;
    }

    [Benchmark(Description = "raw, key imported into the OpenSSL key type")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public bool RawOpenSslKeyType()
    {
        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(_leafDer);
        using X509Certificate2 intermediate = X509CertificateLoader.LoadCertificate(_intermediateDer);
        using X509Certificate2 withKey = KeyType == TestKeyType.Rsa2048 ? WithRsaKey(leaf, new RSAOpenSsl()) : WithEcKey(leaf, new ECDsaOpenSsl());
        return withKey.HasPrivateKey;
    }

    [Benchmark(Description = "X509Svid.Parse")]
    public bool SvidParse()
    {
        using X509Svid svid = X509Svid.Parse(_chainDer, _key);
        return svid.Certificate.HasPrivateKey;
    }

    [Benchmark(Description = "X509Svid.Parse, intermediate known")]
    public bool SvidParseKnown()
    {
        using X509Svid svid = X509Svid.Parse(_chainDer, _key, null, _knownIntermediate);
        return svid.Certificate.HasPrivateKey;
    }

    [Benchmark(Description = "X509Bundle.FromDer (1 certificate)")]
    public int BundleFromDer()
    {
        using X509Bundle bundle = X509Bundle.FromDer(s_id.TrustDomain, _rootDer);
        return bundle.X509Authorities.Count;
    }

    [Benchmark(Description = "X509Bundle.FromDer, root known")]
    public int BundleFromDerKnown()
    {
        using X509Bundle bundle = X509Bundle.FromDer(s_id.TrustDomain, _rootDer, _knownRoot);
        return bundle.X509Authorities.Count;
    }

    [Benchmark(Description = "ResponseParser.ParseX509Context")]
    public int ParseResponse()
    {
        using SdkWorkloadApi.X509Context context = _parser.ParseX509Context(_response);
        return context.Svids.Count;
    }

    [Benchmark(Description = "ParseX509Context, rotation (CA certificates known)")]
    public int ParseResponseRotation()
    {
        using SdkWorkloadApi.X509Context context = _parser.ParseX509Context(_response, _known.Certificates);
        return context.Svids.Count;
    }

    private X509Certificate2 WithEcKey(X509Certificate2 leaf, ECDsa key)
    {
        using (key)
        {
            key.ImportPkcs8PrivateKey(_key, out _);
            return leaf.CopyWithPrivateKey(key);
        }
    }

    private X509Certificate2 WithRsaKey(X509Certificate2 leaf, RSA key)
    {
        using (key)
        {
            key.ImportPkcs8PrivateKey(_key, out _);
            return leaf.CopyWithPrivateKey(key);
        }
    }
}

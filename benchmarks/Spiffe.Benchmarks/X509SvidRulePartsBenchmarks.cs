using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Spiffe.Internal;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Benchmarks;

/// <summary>The pieces the validator adds on top of the path build, measured one by one.</summary>
[MemoryDiagnoser]
public class X509SvidRulePartsBenchmarks
{
    private TestCertificateAuthority _ca = null!;
    private X509Certificate2[] _chain = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
        _chain = _ca.CreateX509SvidMaterial(SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web")).LoadCertificates();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (X509Certificate2 c in _chain)
        {
            c.Dispose();
        }

        _ca.Dispose();
    }

    [Benchmark]
    public bool LeafRules() => SvidLeafRules.TryCheckLeaf(_chain[0].RawDataMemory.Span, out _, out _, out _, out _);

    [Benchmark]
    public bool SigningCertificateRules() => SvidLeafRules.TryCheckSigningCertificate(_chain[1].RawDataMemory.Span, 1, out _, out _);

    [Benchmark]
    public int HashChain() => ValidationCache.Hash(_chain);
}

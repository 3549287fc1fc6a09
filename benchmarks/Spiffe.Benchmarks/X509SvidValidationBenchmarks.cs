using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Benchmarks;

/// <summary>
/// Peer X509-SVID validation: a P-256 leaf with one intermediate, the bundle holding the root.
/// The baseline is the bare RFC 5280 path build with the same policy; "first sight" runs the full
/// validator path on a fresh cache every call, "cached" repeats a chain already validated.
/// </summary>
[MemoryDiagnoser]
public class X509SvidValidationBenchmarks
{
    private TestCertificateAuthority _ca = null!;
    private X509Bundle _bundle = null!;
    private X509Certificate2[] _chain = null!;
    private X509SvidValidator _cachedValidator = null!;
    private X509SvidValidator _uncachedValidator = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
        _bundle = _ca.CreateX509Bundle();
        _chain = _ca.CreateX509SvidMaterial(SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web")).LoadCertificates();
        _cachedValidator = new X509SvidValidator(_bundle);
        _uncachedValidator = new X509SvidValidator(_bundle, cacheSize: 0);
        if (!_cachedValidator.Validate(_chain).IsValid || !RawChainBuild())
        {
            throw new InvalidOperationException("The benchmark chain does not validate.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (X509Certificate2 c in _chain)
        {
            c.Dispose();
        }

        _bundle.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw X509Chain.Build")]
    public bool RawChainBuild()
    {
        using var chain = new X509Chain();
        X509ChainPolicy policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTimeIgnored = false;
        policy.VerificationTime = DateTime.UtcNow;
        for (int i = 0; i < _bundle.X509Authorities.Count; i++)
        {
            policy.CustomTrustStore.Add(_bundle.X509Authorities[i]);
        }

        for (int i = 1; i < _chain.Length; i++)
        {
            policy.ExtraStore.Add(_chain[i]);
        }

        bool ok = chain.Build(_chain[0]) && chain.ChainStatus.Length == 0;
        foreach (X509ChainElement element in chain.ChainElements)
        {
            element.Certificate.Dispose();
        }

        return ok;
    }

    [Benchmark(Description = "validator, first sight (fresh cache)")]
    public bool FirstSightFreshCache() => new X509SvidValidator(_bundle).Validate(_chain).IsValid;

    [Benchmark(Description = "validator, cache disabled")]
    public bool CacheDisabled() => _uncachedValidator.Validate(_chain).IsValid;

    [Benchmark(Description = "validator, cached")]
    public bool Cached() => _cachedValidator.Validate(_chain).IsValid;
}

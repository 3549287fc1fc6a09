using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Core.Tests.X509;

public sealed class X509SvidValidatorCacheTests
{
    private static readonly DateTimeOffset s_start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("list then list", false, false)]
    [InlineData("DER then DER", true, true)]
    [InlineData("list then DER", false, true)]
    [InlineData("DER then list", true, false)]
    public void Validate_SameChainTwice_SecondIsCacheHit(string scenario, bool firstAsDer, bool secondAsDer)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id);
        X509Certificate2[] certificates = material.LoadCertificates();

        X509SvidValidationResult first = firstAsDer ? validator.Validate(material.ChainDer) : validator.Validate(certificates);
        X509SvidValidationResult second = secondAsDer ? validator.Validate(material.ChainDer) : validator.Validate(certificates);

        Assert.True(first.IsValid, scenario);
        Assert.True(second.IsValid, scenario);
        Assert.Equal(SvidCases.Id, second.SpiffeId);
        Assert.Equal(1, validator.CacheHits);
        Assert.Equal(1, validator.CacheCount);
    }

    [Fact]
    public void Validate_BundleInstanceChanged_IsMissAndRevalidates()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Bundle bundle1 = ca.CreateX509Bundle();
        using X509Bundle bundle2 = ca.CreateX509Bundle();
        var source = new SwitchableSource(bundle1);
        var validator = new X509SvidValidator(source);
        byte[] chain = ca.CreateX509SvidMaterial(SvidCases.Id).ChainDer;
        Assert.True(validator.Validate(chain).IsValid);

        source.Bundle = bundle2;
        X509SvidValidationResult afterRotation = validator.Validate(chain);

        Assert.True(afterRotation.IsValid);
        Assert.Equal(0, validator.CacheHits);
        Assert.Equal(1, validator.Validate(chain).IsValid ? validator.CacheHits : -1);
    }

    [Fact]
    public void Validate_BundleRotatedToOtherCa_RejectsPreviouslyCachedChain()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using var next = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Bundle bundle = ca.CreateX509Bundle();
        using X509Bundle rotated = next.CreateX509Bundle();
        var source = new SwitchableSource(bundle);
        var validator = new X509SvidValidator(source);
        byte[] chain = ca.CreateX509SvidMaterial(SvidCases.Id).ChainDer;
        Assert.True(validator.Validate(chain).IsValid);

        source.Bundle = rotated;

        Assert.Equal(X509SvidErrorKind.UntrustedChain, validator.Validate(chain).ErrorKind);
        Assert.Equal(0, validator.CacheHits);
    }

    [Theory]
    [InlineData("leaf expired", 61, 0)]
    [InlineData("root expired before the leaf", 31, 30)]
    [InlineData("still valid", 59, 0)]
    public void Validate_ClockMovedPastAnyCertificateExpiry_RejectsEvenIfCached(string scenario, int minutesLater, int rootLifetimeMinutes)
    {
        var clock = new FakeTimeProvider(s_start);
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new()
        {
            TimeProvider = clock,
            NotAfter = rootLifetimeMinutes == 0 ? null : s_start.AddMinutes(rootLifetimeMinutes),
        });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle, clock);
        byte[] chain = ca.CreateX509SvidMaterial(SvidCases.Id, new() { NotBefore = s_start, NotAfter = s_start.AddHours(1) }).ChainDer;
        Assert.True(validator.Validate(chain).IsValid, scenario);

        clock.Advance(TimeSpan.FromMinutes(minutesLater));
        X509SvidValidationResult later = validator.Validate(chain);

        bool expectValid = scenario == "still valid";
        Assert.True(expectValid == later.IsValid, $"{scenario}: {later}");
        Assert.Equal(expectValid ? 1 : 0, validator.CacheHits);
        if (!expectValid)
        {
            Assert.Equal(X509SvidErrorKind.UntrustedChain, later.ErrorKind);
        }
    }

    [Fact]
    public void Validate_ClockBeforeNotBefore_DoesNotAnswerFromCache()
    {
        // FakeTimeProvider cannot go backwards; a clock stepped back (e.g. by NTP) must not be trusted to the cache.
        var clock = new SteppableClock(s_start);
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { TimeProvider = clock });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle, clock);
        byte[] chain = ca.CreateX509SvidMaterial(SvidCases.Id, new() { NotBefore = s_start.AddMinutes(-1) }).ChainDer;
        Assert.True(validator.Validate(chain).IsValid);

        clock.Now = s_start.AddMinutes(-2);

        Assert.Equal(X509SvidErrorKind.UntrustedChain, validator.Validate(chain).ErrorKind);
        Assert.Equal(0, validator.CacheHits);
    }

    [Fact]
    public void Validate_ManyDistinctChains_CacheStaysBoundedAndEvictsOldest()
    {
        const int capacity = 8;
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle, cacheSize: capacity);
        var chains = new List<byte[]>();
        for (int i = 0; i < 50; i++)
        {
            byte[] chain = ca.CreateX509SvidMaterial(SpiffeId.Parse($"spiffe://example.org/w{i}")).ChainDer;
            chains.Add(chain);
            Assert.True(validator.Validate(chain).IsValid);
            Assert.True(validator.CacheCount <= capacity);
        }

        Assert.Equal(capacity, validator.CacheCount);
        Assert.True(validator.Validate(chains[^1]).IsValid);
        Assert.Equal(1, validator.CacheHits);
        Assert.True(validator.Validate(chains[0]).IsValid);
        Assert.Equal(1, validator.CacheHits);
        Assert.Equal(capacity, validator.CacheCount);
    }

    [Fact]
    public void Validate_InvalidChainTwice_IsNeverCached()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using var impostor = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);
        byte[] chain = impostor.CreateX509SvidMaterial(SvidCases.Id).ChainDer;

        Assert.False(validator.Validate(chain).IsValid);
        Assert.False(validator.Validate(chain).IsValid);

        Assert.Equal(0, validator.CacheHits);
        Assert.Equal(0, validator.CacheCount);
    }

    [Fact]
    public void Validate_CacheDisabled_NeverHits()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle, cacheSize: 0);
        byte[] chain = ca.CreateX509SvidMaterial(SvidCases.Id).ChainDer;

        Assert.True(validator.Validate(chain).IsValid);
        Assert.True(validator.Validate(chain).IsValid);

        Assert.Equal(0, validator.CacheHits);
        Assert.Equal(0, validator.CacheCount);
    }

    [Fact]
    public void Validate_ChainDifferingInOneByte_IsNotAnsweredFromCache()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle);
        byte[] chain = ca.CreateX509SvidMaterial(SvidCases.Id).ChainDer;
        Assert.True(validator.Validate(chain).IsValid);
        byte[] tampered = [.. chain];
        tampered[^1] ^= 0x01;

        X509SvidValidationResult result = validator.Validate(tampered);

        Assert.Equal(X509SvidErrorKind.UntrustedChain, result.ErrorKind);
        Assert.Equal(0, validator.CacheHits);
    }

    [Fact]
    public async Task Validate_ConcurrentCallers_AllValidAndBounded()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });
        using X509Bundle bundle = ca.CreateX509Bundle();
        var validator = new X509SvidValidator(bundle, cacheSize: 4);
        byte[][] chains = [.. Enumerable.Range(0, 6).Select(i => ca.CreateX509SvidMaterial(SpiffeId.Parse($"spiffe://example.org/w{i}")).ChainDer)];
        using var start = new Barrier(4);

        Task<int>[] workers = [.. Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            start.SignalAndWait();
            int valid = 0;
            for (int i = 0; i < 60; i++)
            {
                valid += validator.Validate(chains[(i + w) % chains.Length]).IsValid ? 1 : 0;
            }

            return valid;
        }))];
        int[] counts = await Task.WhenAll(workers);

        Assert.All(counts, c => Assert.Equal(60, c));
        Assert.True(validator.CacheCount <= 4);
        Assert.Equal(240, validator.CacheHits + validator.CacheMisses);
    }

    private sealed class SteppableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed class SwitchableSource(X509Bundle bundle) : IX509BundleSource
    {
        public X509Bundle Bundle { get; set; } = bundle;

        public X509Bundle? GetX509Bundle(TrustDomain trustDomain) => Bundle.GetX509Bundle(trustDomain);
    }
}

using Spiffe.Jwt;
using Spiffe.Testing;
using static Spiffe.Core.Tests.Jwt.JwtTestKeys;

namespace Spiffe.Core.Tests.Jwt;

public class JwtSvidValidatorConcurrencyTests
{
    [Theory]
    [InlineData("ES256")]
    [InlineData("RS256")]
    [InlineData("PS256")]
    public async Task Validate_ManyThreadsShareOneValidatorAndKey_AllSucceedAndForgeriesFail(string algorithm)
    {
        var validator = new JwtSvidValidator(AllBundles, ["svc"], Clock());
        string good = ValidA(algorithm);
        string bad = TestJwtAuthority.FlipSignatureBit(good, 5);
        using var start = new ManualResetEventSlim();

        Task<(int Ok, int Rejected)>[] workers = [.. Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            start.Wait();
            int ok = 0, rejected = 0;
            for (int i = 0; i < 100; i++)
            {
                ok += validator.Validate(good).IsValid ? 1 : 0;
                rejected += validator.Validate(bad).IsValid ? 0 : 1;
            }

            return (ok, rejected);
        }))];
        start.Set();
        (int Ok, int Rejected)[] results = await Task.WhenAll(workers);

        Assert.All(results, r => Assert.Equal((100, 100), r));
    }
}

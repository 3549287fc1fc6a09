using System.Diagnostics;
using System.Globalization;

namespace Spiffe.Benchmarks;

/// <summary>
/// A paired check of <see cref="KeepAliveRequestsBenchmarks"/> for machines too noisy to resolve a
/// few percent between two separate BenchmarkDotNet cases: in one process, with both servers up,
/// it alternates blocks of requests through the static-certificate path and the SDK path (order
/// swapped every round) and reports the median of the per-round time ratios, so slow drifts of the
/// machine hit both sides of every pair alike.
/// </summary>
/// <remarks><c>dotnet run -c Release --project benchmarks/Spiffe.Benchmarks -- paired-keepalive [rounds]</c></remarks>
internal static class PairedKeepAlive
{
    public static async Task RunAsync(int rounds)
    {
        const int InvocationsPerBlock = 20; // 2,000 requests per block
        foreach (string version in (string[])["1.1", "2.0"])
        {
            foreach (int concurrency in (int[])[1, 8])
            {
                var benchmark = new KeepAliveRequestsBenchmarks { Version = version, Concurrency = concurrency };
                benchmark.Setup();
                try
                {
                    for (int i = 0; i < 3 * InvocationsPerBlock; i++)
                    {
                        await benchmark.StaticCertificates();
                        await benchmark.SdkUseSpiffeMtlsAndHandler();
                    }

                    var ratios = new double[rounds];
                    double staticTotal = 0, sdkTotal = 0;
                    for (int round = 0; round < rounds; round++)
                    {
                        bool sdkFirst = round % 2 == 1;
                        double first = await TimeAsync(sdkFirst ? benchmark.SdkUseSpiffeMtlsAndHandler : benchmark.StaticCertificates, InvocationsPerBlock);
                        double second = await TimeAsync(sdkFirst ? benchmark.StaticCertificates : benchmark.SdkUseSpiffeMtlsAndHandler, InvocationsPerBlock);
                        (double staticTime, double sdkTime) = sdkFirst ? (second, first) : (first, second);
                        staticTotal += staticTime;
                        sdkTotal += sdkTime;
                        ratios[round] = sdkTime / staticTime;
                    }

                    Array.Sort(ratios);
                    double perRequest = 1e6 / (InvocationsPerBlock * 100.0 * rounds);
                    Console.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"HTTP/{version} x{concurrency}: static {staticTotal * perRequest:F1} us/req, SDK {sdkTotal * perRequest:F1} us/req, time ratio SDK/static median {ratios[rounds / 2]:F3} (P25 {ratios[rounds / 4]:F3}, P75 {ratios[rounds * 3 / 4]:F3}) over {rounds} paired rounds"));
                }
                finally
                {
                    benchmark.Cleanup();
                }
            }
        }
    }

    private static async Task<double> TimeAsync(Func<Task> invocation, int count)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            await invocation();
        }

        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}

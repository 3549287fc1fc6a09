namespace Spiffe.Soak.Tests;

/// <summary>The soak's verdict on synthetic samples: each bound can fail the run on its own.</summary>
public sealed class SoakVerdictTests
{
    private static readonly SoakSettings s_settings = SoakSettings.Parse(["--duration", "30m", "--restarts", "6"]);

    [Fact]
    public void Judge_FlatRun_Passes()
    {
        SoakVerdict verdict = Judge(Samples(rssMiB: _ => 100, fds: _ => 230));

        Assert.True(verdict.Passed, string.Join('\n', verdict.Lines));
        Assert.Equal(0, verdict.RssSlopeMiBPer10Min, 6);
        Assert.Equal(0, verdict.FdGrowth);
        Assert.Equal(41, verdict.SamplesAfterWarmup); // minutes 10..30 of a sample every 30 s
    }

    [Fact]
    public void Judge_RequestFailedWhileValidSvidExisted_Fails()
    {
        SoakVerdict verdict = Judge(Samples(rssMiB: _ => 100, fds: _ => 230), failedWithValidSvid: 1);

        Assert.False(verdict.Passed);
        Assert.Contains(verdict.Lines, l => l.StartsWith("FAIL 1 requests failed while a valid SVID existed", StringComparison.Ordinal));
    }

    [Fact]
    public void Judge_RequestFailedWithoutValidSvid_IsReportedButPasses()
    {
        SoakVerdict verdict = Judge(Samples(rssMiB: _ => 100, fds: _ => 230), failedWithoutValidSvid: 3);

        Assert.True(verdict.Passed, string.Join('\n', verdict.Lines));
        Assert.Equal(3, verdict.FailedWithoutValidSvid);
    }

    [Fact]
    public void Judge_RssGrowingFasterThanBound_Fails()
    {
        // 0.5 MiB per minute after warm-up = 5 MiB per 10 minutes, over the default bound of 4.
        SoakVerdict verdict = Judge(Samples(rssMiB: minute => 100 + (minute * 0.5), fds: _ => 230));

        Assert.False(verdict.Passed);
        Assert.Equal(5, verdict.RssSlopeMiBPer10Min, 6);
    }

    [Fact]
    public void Judge_RssGrowingOnlyDuringWarmup_Passes()
    {
        SoakVerdict verdict = Judge(Samples(rssMiB: minute => minute < 10 ? 75 + (minute * 3) : 105, fds: _ => 230));

        Assert.True(verdict.Passed, string.Join('\n', verdict.Lines));
    }

    [Fact]
    public void Judge_LiveNativeMemoryGrowing_Fails()
    {
        // 0.2 MiB per minute of live malloc memory = 2 MiB per 10 minutes, over the default bound of 1,
        // while RSS stays flat (the allocator had free memory to hand out).
        SoakVerdict verdict = Judge(Samples(rssMiB: _ => 100, fds: _ => 230, nativeMiB: minute => 20 + (minute * 0.2)));

        Assert.False(verdict.Passed);
        Assert.Equal(2, verdict.NativeInUseSlopeMiBPer10Min, 6);
    }

    [Fact]
    public void Judge_DescriptorsGrowing_Fails()
    {
        SoakVerdict verdict = Judge(Samples(rssMiB: _ => 100, fds: minute => 230 + (int)minute));

        Assert.False(verdict.Passed);
        Assert.Equal(19, verdict.FdGrowth); // medians: 240 at minutes 10-11, 259 at 29-30
    }

    [Fact]
    public void Judge_OneDescriptorSpikeAtTheEnd_PassesOnTheMedian()
    {
        SoakVerdict verdict = Judge(Samples(rssMiB: _ => 100, fds: minute => minute >= 30 ? 260 : 230));

        Assert.True(verdict.Passed, string.Join('\n', verdict.Lines));
    }

    [Fact]
    public void Judge_RestartsMissing_Fails()
    {
        SoakVerdict verdict = SoakVerdict.Judge(s_settings, Samples(rssMiB: _ => 100, fds: _ => 230), 0, 0, restarts: 5);

        Assert.False(verdict.Passed);
    }

    [Fact]
    public void Judge_TooFewSamplesAfterWarmup_Fails()
    {
        SoakSample[] samples = [.. Samples(rssMiB: _ => 100, fds: _ => 230).Where(s => s.Seconds < 650)];

        SoakVerdict verdict = Judge(samples);

        Assert.False(verdict.Passed);
        Assert.Contains(verdict.Lines, l => l.Contains("samples after warm-up", StringComparison.Ordinal));
    }

    private static SoakVerdict Judge(IReadOnlyList<SoakSample> samples, long failedWithValidSvid = 0, long failedWithoutValidSvid = 0)
        => SoakVerdict.Judge(s_settings, samples, failedWithValidSvid, failedWithoutValidSvid, restarts: 6);

    /// <summary>A 30-minute run sampled every 30 s, with the load's counters growing steadily.</summary>
    private static SoakSample[] Samples(Func<double, double> rssMiB, Func<double, int> fds, Func<double, double>? nativeMiB = null)
        => [.. Enumerable.Range(0, 61).Select(i =>
        {
            double minute = i / 2.0;
            return new SoakSample
            {
                Seconds = minute * 60,
                Server = new ProcessMemory((long)(rssMiB(minute) * 1024), 20, fds(minute)),
                HeapBytes = 1_500_000,
                NativeInUseBytes = (long)((nativeMiB?.Invoke(minute) ?? 20) * 1048576),
                ServerUpdates = i * 15,
                Rotations = i * 15,
                NewConnectionOk = i * 150,
                KeepAliveOk = i * 600,
                MalformedPushes = i * 3,
                Restarts = i / 10,
            };
        })];
}

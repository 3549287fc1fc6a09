using System.Globalization;
using System.Text.Json;

namespace Spiffe.Soak;

/// <summary>
/// What the soak concludes. Growth is judged only after warm-up (the first <see cref="SoakSettings.Warmup"/>
/// of the run): the server's RSS as a least-squares slope over the remaining samples, in MiB per
/// 10 minutes, and the same for its live malloc memory (<see cref="NativeHeap"/>); descriptors as the median of the last three samples minus the median of the first
/// three after warm-up (a median, because a sample can catch a handful of connections mid-handshake).
/// </summary>
internal sealed record SoakVerdict
{
    public bool Passed { get; init; }

    public long FailedWithValidSvid { get; init; }

    public long FailedWithoutValidSvid { get; init; }

    public long Requests { get; init; }

    public long NewConnectionRequests { get; init; }

    public long Rotations { get; init; }

    public long ServerUpdates { get; init; }

    public long Restarts { get; init; }

    public long MalformedPushes { get; init; }

    public int SamplesAfterWarmup { get; init; }

    public double RssWarmupMiB { get; init; }

    public double RssEndMiB { get; init; }

    public double RssSlopeMiBPer10Min { get; init; }

    public double? RssSlopeBound { get; init; }

    public int FdWarmup { get; init; }

    public int FdEnd { get; init; }

    public int FdGrowth { get; init; }

    public int FdGrowthBound { get; init; }

    public double FdSlopePer10Min { get; init; }

    public double NativeInUseWarmupMiB { get; init; }

    public double NativeInUseEndMiB { get; init; }

    public double NativeInUseSlopeMiBPer10Min { get; init; }

    public double? NativeSlopeBound { get; init; }

    public double HeapWarmupMiB { get; init; }

    public double HeapEndMiB { get; init; }

    public double HeapSlopeMiBPer10Min { get; init; }

    public IReadOnlyList<string> Lines { get; init; } = [];

    public static SoakVerdict Judge(SoakSettings settings, IReadOnlyList<SoakSample> samples, long failedWithValidSvid, long failedWithoutValidSvid, long restarts)
    {
        double warmupEnd = settings.Duration.TotalSeconds * settings.Warmup;
        SoakSample[] after = [.. samples.Where(s => s.Seconds >= warmupEnd)];
        SoakSample last = samples[^1];
        var lines = new List<string>();
        bool passed = true;
        void Check(bool ok, string what)
        {
            passed &= ok;
            lines.Add($"{(ok ? "ok  " : "FAIL")} {what}");
        }

        Check(failedWithValidSvid == 0, $"{failedWithValidSvid} requests failed while a valid SVID existed (bound 0)");
        Check(last.NewConnectionOk > 0 && last.KeepAliveOk > 0, $"requests succeeded on new connections ({last.NewConnectionOk}) and kept-alive ones ({last.KeepAliveOk})");
        Check(last.ServerUpdates >= 2 && last.Rotations >= 2, $"the SVID rotated ({last.Rotations} issuances, {last.ServerUpdates} updates at the server)");
        Check(restarts == settings.Restarts, $"{restarts} of {settings.Restarts} agent restarts done");
        bool malformedDue = settings.Duration > settings.MalformedEvery * 2;
        Check(!malformedDue || last.MalformedPushes > 0, $"{last.MalformedPushes} malformed pushes");

        var verdict = new SoakVerdict
        {
            FailedWithValidSvid = failedWithValidSvid,
            FailedWithoutValidSvid = failedWithoutValidSvid,
            Requests = last.NewConnectionOk + last.KeepAliveOk,
            NewConnectionRequests = last.NewConnectionOk,
            Rotations = last.Rotations,
            ServerUpdates = last.ServerUpdates,
            Restarts = restarts,
            MalformedPushes = last.MalformedPushes,
            SamplesAfterWarmup = after.Length,
            RssSlopeBound = settings.MaxRssSlope,
            NativeSlopeBound = settings.MaxNativeSlope,
            FdGrowthBound = settings.MaxFdGrowth,
        };

        if (after.Length < 3)
        {
            Check(false, $"only {after.Length} samples after warm-up; at least 3 are needed to judge growth (shorten --sample)");
            return verdict with { Passed = false, Lines = lines };
        }

        double rssSlope = Slope(after, s => s.Server.RssKiB / 1024.0) * 600;
        double fdSlope = Slope(after, s => s.Server.Descriptors) * 600;
        double heapSlope = Slope(after, s => s.HeapBytes / 1048576.0) * 600;
        double nativeSlope = Slope(after, s => s.NativeInUseBytes / 1048576.0) * 600;
        int fdWarmup = Median(after.Take(3).Select(s => s.Server.Descriptors));
        int fdEnd = Median(after.TakeLast(3).Select(s => s.Server.Descriptors));
        verdict = verdict with
        {
            RssWarmupMiB = after[0].Server.RssKiB / 1024.0,
            RssEndMiB = last.Server.RssKiB / 1024.0,
            RssSlopeMiBPer10Min = rssSlope,
            FdWarmup = fdWarmup,
            FdEnd = fdEnd,
            FdGrowth = fdEnd - fdWarmup,
            FdSlopePer10Min = fdSlope,
            NativeInUseWarmupMiB = after[0].NativeInUseBytes / 1048576.0,
            NativeInUseEndMiB = last.NativeInUseBytes / 1048576.0,
            NativeInUseSlopeMiBPer10Min = nativeSlope,
            HeapWarmupMiB = after[0].HeapBytes / 1048576.0,
            HeapEndMiB = last.HeapBytes / 1048576.0,
            HeapSlopeMiBPer10Min = heapSlope,
        };

        string rss = string.Create(CultureInfo.InvariantCulture,
            $"server RSS {verdict.RssWarmupMiB:0.0} MiB after warm-up ({after[0].Seconds / 60:0.0} min) -> {verdict.RssEndMiB:0.0} MiB at the end; slope {rssSlope:+0.00;-0.00} MiB/10 min over {after.Length} samples");
        if (settings.MaxRssSlope is { } bound)
        {
            Check(rssSlope <= bound, rss + string.Create(CultureInfo.InvariantCulture, $" (bound {bound:0.##})"));
        }
        else
        {
            lines.Add("info " + rss + " (not judged)");
        }

        string native = string.Create(CultureInfo.InvariantCulture,
            $"server live malloc memory {verdict.NativeInUseWarmupMiB:0.00} -> {verdict.NativeInUseEndMiB:0.00} MiB; slope {nativeSlope:+0.000;-0.000} MiB/10 min (native certificates, TLS contexts; free memory the allocator keeps is not counted)");
        if (last.NativeInUseBytes < 0)
        {
            lines.Add("info live malloc memory unknown (mallinfo2 unavailable)");
        }
        else if (settings.MaxNativeSlope is { } nativeBound)
        {
            Check(nativeSlope <= nativeBound, native + string.Create(CultureInfo.InvariantCulture, $" (bound {nativeBound:0.##})"));
        }
        else
        {
            lines.Add("info " + native + " (not judged)");
        }

        Check(verdict.FdGrowth <= settings.MaxFdGrowth, string.Create(CultureInfo.InvariantCulture,
            $"server descriptors {fdWarmup} after warm-up -> {fdEnd} at the end (growth {verdict.FdGrowth}, bound {settings.MaxFdGrowth}; slope {fdSlope:+0.0;-0.0}/10 min)"));
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"info server managed heap after GC {verdict.HeapWarmupMiB:0.00} -> {verdict.HeapEndMiB:0.00} MiB (slope {heapSlope:+0.000;-0.000} MiB/10 min); threads {after[0].Server.Threads} -> {last.Server.Threads}; load process RSS {after[0].Load.RssKiB / 1024.0:0.0} -> {last.Load.RssKiB / 1024.0:0.0} MiB, fds {after[0].Load.Descriptors} -> {last.Load.Descriptors}"));
        return verdict with { Passed = passed, Lines = lines };
    }

    public string ToJson() => JsonSerializer.Serialize(this with { Lines = [] });

    /// <summary>Least-squares slope of <paramref name="value"/> over time, per second.</summary>
    private static double Slope(IReadOnlyList<SoakSample> samples, Func<SoakSample, double> value)
    {
        double meanT = samples.Average(s => s.Seconds);
        double meanV = samples.Average(value);
        double covariance = samples.Sum(s => (s.Seconds - meanT) * (value(s) - meanV));
        double variance = samples.Sum(s => (s.Seconds - meanT) * (s.Seconds - meanT));
        return variance == 0 ? 0 : covariance / variance;
    }

    private static int Median(IEnumerable<int> values)
    {
        int[] sorted = [.. values.Order()];
        return sorted[sorted.Length / 2];
    }
}

using System.Globalization;

namespace Spiffe.Soak;

/// <summary>The soak's command line. Durations are written <c>500ms</c>, <c>2s</c>, <c>5m</c> or <c>1h</c>.</summary>
internal sealed class SoakSettings
{
    public const string Usage = """
        Spiffe.Soak — memory and descriptors of an mTLS Kestrel server through SVID rotations.

          dotnet run -c Release --project benchmarks/Spiffe.Soak -- [options]

          --duration <d>          total run (default 30m); --minutes <n> is the same in minutes
          --rotation <d>          SVID rotation interval at the agent (default 2s)
          --svid-ttl <d>          SVID lifetime (default max(10 x rotation, 20s))
          --restarts <n>          agent restarts, evenly spaced (default one per 5 min, at least 1)
          --restart-downtime <d>  how long the agent stays down per restart (default 2s)
          --malformed-every <d>   one malformed X509-SVID push every <d> (default 10s)
          --connections <n>       new TLS connections per second, HTTP/1.1 + Connection: close (default 5)
          --keepalive <n>         requests per second on kept-alive HTTP/2 connections (default 20)
          --sample <d>            sampling interval (default 30s)
          --warmup <fraction>     part of the run before growth is judged (default 0.333)
          --max-rss-slope <MiB>   bound on the server's RSS slope after warm-up, MiB per 10 min (default 4; 'off' to report only)
          --max-native-slope <MiB> bound on the slope of the server's live malloc memory after warm-up, MiB per 10 min (default 1; 'off')
          --max-fd-growth <n>     bound on the server's descriptor growth after warm-up (default 8)
        Exit code 0 when every bound holds and no request failed while a valid SVID existed; 1 otherwise; 2 for bad options.
        """;

    public TimeSpan Duration { get; private set; } = TimeSpan.FromMinutes(30);

    public TimeSpan Rotation { get; private set; } = TimeSpan.FromSeconds(2);

    public TimeSpan? SvidTimeToLiveOption { get; private set; }

    public TimeSpan SvidTimeToLive => SvidTimeToLiveOption ?? TimeSpan.FromTicks(Math.Max(Rotation.Ticks * 10, TimeSpan.FromSeconds(20).Ticks));

    public int? RestartsOption { get; private set; }

    public int Restarts => RestartsOption ?? Math.Max(1, (int)(Duration.TotalMinutes / 5));

    public TimeSpan RestartDowntime { get; private set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MalformedEvery { get; private set; } = TimeSpan.FromSeconds(10);

    public double ConnectionsPerSecond { get; private set; } = 5;

    public double KeepAlivePerSecond { get; private set; } = 20;

    public TimeSpan Sample { get; private set; } = TimeSpan.FromSeconds(30);

    public double Warmup { get; private set; } = 1.0 / 3;

    /// <summary>MiB per 10 minutes; null reports the slope without judging it.</summary>
    public double? MaxRssSlope { get; private set; } = 4;

    /// <summary>MiB per 10 minutes of live malloc memory (mallinfo2); null reports without judging.</summary>
    public double? MaxNativeSlope { get; private set; } = 1;

    public int MaxFdGrowth { get; private set; } = 8;

    public static SoakSettings Parse(IReadOnlyList<string> args)
    {
        var settings = new SoakSettings();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{name} needs a value.");
            switch (name)
            {
                case "--duration": settings.Duration = ParseDuration(Value()); break;
                case "--minutes": settings.Duration = TimeSpan.FromMinutes(ParseNumber(Value())); break;
                case "--rotation": settings.Rotation = ParseDuration(Value()); break;
                case "--svid-ttl": settings.SvidTimeToLiveOption = ParseDuration(Value()); break;
                case "--restarts": settings.RestartsOption = (int)ParseNumber(Value()); break;
                case "--restart-downtime": settings.RestartDowntime = ParseDuration(Value()); break;
                case "--malformed-every": settings.MalformedEvery = ParseDuration(Value()); break;
                case "--connections": settings.ConnectionsPerSecond = ParseNumber(Value()); break;
                case "--keepalive": settings.KeepAlivePerSecond = ParseNumber(Value()); break;
                case "--sample": settings.Sample = ParseDuration(Value()); break;
                case "--warmup": settings.Warmup = ParseNumber(Value()); break;
                case "--max-rss-slope":
                    string slope = Value();
                    settings.MaxRssSlope = slope == "off" ? null : ParseNumber(slope);
                    break;
                case "--max-native-slope":
                    string nativeSlope = Value();
                    settings.MaxNativeSlope = nativeSlope == "off" ? null : ParseNumber(nativeSlope);
                    break;
                case "--max-fd-growth": settings.MaxFdGrowth = (int)ParseNumber(Value()); break;
                default: throw new FormatException($"Unknown option {name}.");
            }
        }

        if (settings.Duration <= TimeSpan.Zero || settings.Rotation <= TimeSpan.Zero || settings.Sample <= TimeSpan.Zero || settings.MalformedEvery <= TimeSpan.Zero)
        {
            throw new FormatException("Durations must be positive.");
        }

        if (settings.SvidTimeToLive <= settings.Rotation || settings.SvidTimeToLive < TimeSpan.FromSeconds(2))
        {
            throw new FormatException("The SVID lifetime must be at least 2 s and longer than the rotation interval.");
        }

        if (settings.Warmup is < 0 or >= 1 || settings.ConnectionsPerSecond <= 0 || settings.KeepAlivePerSecond <= 0 || settings.Restarts < 0 || settings.MaxFdGrowth < 0)
        {
            throw new FormatException("--warmup must be in [0, 1), rates positive, counts not negative.");
        }

        return settings;
    }

    public static TimeSpan ParseDuration(string text)
    {
        (string number, double unitSeconds) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ when text.EndsWith('h') => (text[..^1], 3600),
            _ => throw new FormatException($"'{text}' is not a duration (e.g. 500ms, 2s, 5m, 1h)."),
        };
        return TimeSpan.FromSeconds(ParseNumber(number) * unitSeconds);
    }

    private static double ParseNumber(string text)
        => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= 0
            ? value
            : throw new FormatException($"'{text}' is not a non-negative number.");
}

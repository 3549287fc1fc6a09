using System.Globalization;

namespace Spiffe.Load;

/// <summary>Command-line settings of a load run.</summary>
internal sealed record LoadSettings
{
    public const string Usage = """
        Spiffe.Load [options]        load from this process against servers in child processes
          --scenario S       requests | connections | all (default all)
          --duration D       measured time per row per round (default 10s; 500ms, 2s, 1m)
          --warmup D         unmeasured time per row before the first round (default 3s)
          --rounds N         rounds; rows run in order, then reversed (ABBA), to cancel drift (default 4)
          --concurrency N    concurrent callers: kept-alive connections (HTTP/1.1) or streams (HTTP/2),
                             or callers each opening new connections (default 8)
          --http V           1.1 or 2 for the requests scenario (default 1.1)
        Spiffe.Load server --mode spiffe-policy|no-auth|raw-kestrel-mtls ...   (started by the run itself)
        Exit code 0 when every row served requests and none failed.
        """;

    public string Scenario { get; init; } = "all";

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    public int Rounds { get; init; } = 4;

    public int Concurrency { get; init; } = 8;

    public Version Http { get; init; } = System.Net.HttpVersion.Version11;

    public bool RunsRequests => Scenario is "all" or "requests";

    public bool RunsConnections => Scenario is "all" or "connections";

    public static LoadSettings Parse(string[] args)
    {
        var settings = new LoadSettings();
        for (int i = 0; i < args.Length; i += 2)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new FormatException($"{args[i]} needs a value.");
            settings = args[i] switch
            {
                "--scenario" => settings with { Scenario = value is "all" or "requests" or "connections" ? value : throw new FormatException($"Unknown scenario '{value}'.") },
                "--duration" => settings with { Duration = ParseDuration(value) },
                "--warmup" => settings with { Warmup = ParseDuration(value, allowZero: true) },
                "--rounds" => settings with { Rounds = ParsePositive(value) },
                "--concurrency" => settings with { Concurrency = ParsePositive(value) },
                "--http" => settings with
                {
                    Http = value switch
                    {
                        "1.1" => System.Net.HttpVersion.Version11,
                        "2" or "2.0" => System.Net.HttpVersion.Version20,
                        _ => throw new FormatException($"--http takes 1.1 or 2, not '{value}'."),
                    },
                },
                _ => throw new FormatException($"Unknown option {args[i]}."),
            };
        }

        return settings;
    }

    internal static TimeSpan ParseDuration(string text, bool allowZero = false)
    {
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ => throw new FormatException($"'{text}' is not a duration (500ms, 2s, 1m)."),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0 || (value == 0 && !allowZero) || value * scale > 3600)
        {
            throw new FormatException($"'{text}' is not a duration between 0 and 1 hour.");
        }

        return TimeSpan.FromSeconds(value * scale);
    }

    private static int ParsePositive(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value is > 0 and <= 10_000
            ? value
            : throw new FormatException($"'{text}' is not a count between 1 and 10000.");
}

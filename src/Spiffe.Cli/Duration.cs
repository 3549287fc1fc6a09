using System.Globalization;

namespace Spiffe.Cli;

/// <summary>Parses durations such as <c>90s</c>, <c>2m</c>, <c>1h</c> or <c>00:02:00</c> given on the command line.</summary>
internal static class Duration
{
    private const string Examples = "e.g. 90s, 2m, 1h or 00:02:00";

    /// <summary>Parses the value of <paramref name="option"/>; anything outside [<paramref name="min"/>, <paramref name="max"/>] is a <see cref="CliException"/> naming the range.</summary>
    public static TimeSpan Parse(string option, string? text, TimeSpan min, TimeSpan max)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CliException($"{option} is empty; give a duration, {Examples}.");
        }

        string range = $"between {Short(min)} and {Short(max)}";
        TimeSpan span;
        char unit = text[^1];
        if (char.IsAsciiLetter(unit))
        {
            if (!double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double value)
                || double.IsNaN(value))
            {
                throw new CliException($"{option} {text} is not a duration; use a number and a unit, {Examples}.");
            }

            double scale = unit switch
            {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => throw new CliException($"{option} {text}: unknown unit '{unit}'; use s, m, h or d, {Examples}."),
            };

            double seconds = value * scale;

            // Compare as numbers first: 1e400s or 99999999h do not fit a TimeSpan at all.
            if (seconds < min.TotalSeconds || seconds > max.TotalSeconds)
            {
                throw new CliException($"{option} {text} is out of range; it must be {range}.");
            }

            span = TimeSpan.FromSeconds(seconds);
        }
        else if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out span))
        {
            throw new CliException($"{option} {text} is not a duration; use a number and a unit, {Examples}.");
        }

        return span >= min && span <= max
            ? span
            : throw new CliException($"{option} {text} is out of range; it must be {range}.");
    }

    /// <summary>Hours, minutes and seconds: <c>1h 00m 00s</c>, <c>36h 00m 00s</c>, <c>2m 05s</c>.</summary>
    public static string Format(TimeSpan span) => span.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(long)span.TotalHours}h {span.Minutes:00}m {span.Seconds:00}s")
        : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}m {span.Seconds:00}s");

    /// <summary>The largest whole unit: <c>2s</c>, <c>90s</c>, <c>5m</c>, <c>365d</c>.</summary>
    private static string Short(TimeSpan span) => span.Ticks switch
    {
        long t when t % TimeSpan.TicksPerDay == 0 => string.Create(CultureInfo.InvariantCulture, $"{span.TotalDays:0}d"),
        long t when t % TimeSpan.TicksPerHour == 0 => string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0}h"),
        long t when t % TimeSpan.TicksPerMinute == 0 => string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0}m"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###}s"),
    };
}

using System.Globalization;

namespace Spiffe.Cli;

/// <summary>Parses durations such as <c>90s</c>, <c>2m</c>, <c>1h</c> or <c>00:02:00</c>.</summary>
internal static class Duration
{
    public static TimeSpan Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        char unit = text[^1];
        if (char.IsAsciiLetter(unit) && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0)
        {
            return unit switch
            {
                's' => TimeSpan.FromSeconds(value),
                'm' => TimeSpan.FromMinutes(value),
                'h' => TimeSpan.FromHours(value),
                _ => throw new FormatException($"Unknown duration unit '{unit}' in \"{text}\"; use s, m or h (e.g. 90s, 2m, 1h)."),
            };
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan span) && span > TimeSpan.Zero
            ? span
            : throw new FormatException($"\"{text}\" is not a duration; use e.g. 90s, 2m or 1h.");
    }

    public static string Format(TimeSpan span) => span.TotalHours >= 1
        ? span.ToString(@"h\h\ mm\m\ ss\s", CultureInfo.InvariantCulture)
        : span.ToString(@"m\m\ ss\s", CultureInfo.InvariantCulture);
}

namespace Spiffe.Files;

internal static class FileWatchSettings
{
    internal static void Check(TimeSpan pollInterval, TimeSpan debounce, TimeSpan startTimeout, string optionsName)
    {
        if (pollInterval != Timeout.InfiniteTimeSpan && pollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{optionsName}.PollInterval must be positive or Timeout.InfiniteTimeSpan (no polling).");
        }

        if (debounce < TimeSpan.Zero)
        {
            throw new ArgumentException($"{optionsName}.Debounce must not be negative.");
        }

        if (startTimeout != Timeout.InfiniteTimeSpan && startTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{optionsName}.StartTimeout must be positive or Timeout.InfiniteTimeSpan.");
        }
    }
}

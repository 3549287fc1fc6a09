using System.Globalization;
using Spiffe;

namespace Spiffe.Samples;

/// <summary>
/// The samples' settings: <c>--name value</c> (or <c>--name=value</c>) on the command line wins over
/// an environment variable, which wins over the default. Unknown options are an error, not ignored.
/// </summary>
internal sealed class SampleArguments
{
    private readonly Dictionary<string, string> _given = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private SampleArguments()
    {
    }

    public static SampleArguments Parse(IReadOnlyList<string> args)
    {
        var parsed = new SampleArguments();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length < 3)
            {
                throw new ArgumentException($"Unexpected argument '{arg}': options look like --name value.");
            }

            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                parsed._given[arg[..equals]] = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                parsed._given[arg] = args[++i];
            }
            else
            {
                throw new ArgumentException($"Option {arg} needs a value.");
            }
        }

        return parsed;
    }

    public string Get(string option, string environmentVariable, string defaultValue)
    {
        _read.Add(option);
        if (_given.TryGetValue(option, out string? value))
        {
            return value;
        }

        string? fromEnvironment = Environment.GetEnvironmentVariable(environmentVariable);
        return string.IsNullOrEmpty(fromEnvironment) ? defaultValue : fromEnvironment;
    }

    public SpiffeId GetSpiffeId(string option, string environmentVariable, string defaultValue)
    {
        string text = Get(option, environmentVariable, defaultValue);
        return SpiffeId.TryParse(text, out SpiffeId? id)
            ? id
            : throw new ArgumentException($"{option} ({environmentVariable}): '{text}' is not a SPIFFE ID such as spiffe://example.org/backend.");
    }

    public int GetInt32(string option, string environmentVariable, int defaultValue, int minimum, int maximum)
    {
        string text = Get(option, environmentVariable, defaultValue.ToString(CultureInfo.InvariantCulture));
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= minimum && value <= maximum
            ? value
            : throw new ArgumentException($"{option} ({environmentVariable}): '{text}' is not a whole number from {minimum} to {maximum}.");
    }

    /// <summary>Fails on options the program never asked for, so a typo does not silently fall back to a default.</summary>
    public void ThrowIfUnknownOptions(string usage)
    {
        string[] unknown = _given.Keys.Where(k => !_read.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"Unknown option(s) {string.Join(", ", unknown)}. Usage: {usage}");
        }
    }

    /// <summary>Runs a settings parser; on a bad or unknown option writes why (and the usage) to stderr and returns false.</summary>
    public static bool TryParse<T>(Func<T> parse, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? settings)
        where T : class
    {
        try
        {
            settings = parse();
            return true;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            settings = null;
            return false;
        }
    }
}

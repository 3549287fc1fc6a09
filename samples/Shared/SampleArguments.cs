using System.Globalization;
using Spiffe;

namespace Spiffe.Samples;

/// <summary>
/// The samples' settings: <c>--name value</c> (or <c>--name=value</c>) on the command line wins over
/// an environment variable, which wins over the default. Unknown options are an error, not ignored,
/// except configuration keys (<c>--Spiffe:StartTimeout 00:00:10</c>, any name with a colon), which
/// the services leave to ASP.NET Core's command-line configuration.
/// </summary>
internal sealed class SampleArguments
{
    private readonly Dictionary<string, string> _given = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private SampleArguments()
    {
    }

    /// <summary>Whether <c>--Section:Key value</c> options are accepted (left to the host's configuration).</summary>
    public bool AllowConfigurationKeys { get; init; }

    public static SampleArguments Parse(IReadOnlyList<string> args, bool allowConfigurationKeys = false)
    {
        var parsed = new SampleArguments { AllowConfigurationKeys = allowConfigurationKeys };
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

    public string Get(string option, string environmentVariable, string defaultValue) =>
        GetOptional(option, environmentVariable) ?? defaultValue;

    /// <summary>The option's value, else the environment variable's, else null (the caller's configuration keeps its value).</summary>
    public string? GetOptional(string option, string environmentVariable)
    {
        _read.Add(option);
        if (_given.TryGetValue(option, out string? value))
        {
            return value;
        }

        string? fromEnvironment = Environment.GetEnvironmentVariable(environmentVariable);
        return string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment;
    }

    /// <summary>Like <see cref="GetOptional"/>, checked to be a SPIFFE ID.</summary>
    public SpiffeId? GetOptionalSpiffeId(string option, string environmentVariable)
    {
        string? text = GetOptional(option, environmentVariable);
        return text is null ? null
            : SpiffeId.TryParse(text, out SpiffeId? id) ? id
            : throw new ArgumentException($"{option} ({environmentVariable}): '{text}' is not a SPIFFE ID such as spiffe://example.org/backend.");
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
        string[] unknown = _given.Keys.Where(k => !_read.Contains(k) && !(AllowConfigurationKeys && k.Contains(':', StringComparison.Ordinal))).Order(StringComparer.Ordinal).ToArray();
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

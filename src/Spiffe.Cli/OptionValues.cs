namespace Spiffe.Cli;

/// <summary>Parses option values whose syntax the SDK defines, naming the option in the error.</summary>
internal static class OptionValues
{
    public static SpiffeId SpiffeId(string option, string? text)
    {
        try
        {
            return Spiffe.SpiffeId.Parse(text ?? string.Empty);
        }
        catch (FormatException e)
        {
            throw new CliException($"{option}: {e.Message}", e);
        }
    }

    public static TrustDomain TrustDomain(string option, string? text)
    {
        try
        {
            return Spiffe.TrustDomain.Parse(text ?? string.Empty);
        }
        catch (FormatException e)
        {
            throw new CliException($"{option}: {e.Message}", e);
        }
    }

    /// <summary>A value that must not be empty (an audience, a token): the SDK would reject it with its own wording.</summary>
    public static string NotEmpty(string option, string? text, string example) =>
        string.IsNullOrWhiteSpace(text)
            ? throw new CliException($"{option} is empty; {example}.")
            : text;
}

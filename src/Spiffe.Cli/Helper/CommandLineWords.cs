using System.Text;

namespace Spiffe.Cli.Helper;

/// <summary>Splits cmd_args into arguments: at spaces and tabs, except inside double or single quotes (no shell is run).</summary>
internal static class CommandLineWords
{
    public static IReadOnlyList<string> Split(string text)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        foreach (char c in text)
        {
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (c is ' ' or '\t' or '\n' or '\r')
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }

        if (quote != '\0')
        {
            throw new CliException($"cmd_args has an unclosed {quote} quote; close it or remove it");
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return words;
    }
}

using System.Globalization;
using System.Text;

namespace Spiffe.Cli.Helper;

/// <summary>A value of the HCL subset read by <see cref="Hcl"/>, with the line it starts on.</summary>
internal abstract record HclValue(int Line)
{
    /// <summary>What the value is, for error messages: "a string", "a list".</summary>
    public abstract string Kind { get; }
}

internal sealed record HclString(int Line, string Value) : HclValue(Line)
{
    public override string Kind => "a string";
}

/// <summary>A number, kept as written: a file mode is read as octal, a port as decimal.</summary>
internal sealed record HclNumber(int Line, string Text) : HclValue(Line)
{
    public override string Kind => "a number";
}

internal sealed record HclBool(int Line, bool Value) : HclValue(Line)
{
    public override string Kind => "true or false";
}

internal sealed record HclList(int Line, IReadOnlyList<HclValue> Items) : HclValue(Line)
{
    public override string Kind => "a list";
}

/// <summary>A block (<c>name { ... }</c>) or an object (<c>{ a = 1, b = 2 }</c>).</summary>
internal sealed record HclObject(int Line, IReadOnlyList<HclAttribute> Attributes) : HclValue(Line)
{
    public override string Kind => "a block";
}

/// <summary>One <c>key = value</c> (or <c>key { ... }</c>) and the line of its key.</summary>
internal sealed record HclAttribute(string Key, int Line, HclValue Value);

/// <summary>A syntax or configuration error at a line of the file.</summary>
internal sealed class HclException(int line, string message) : Exception(message)
{
    public int Line { get; } = line;
}

/// <summary>
/// Reads the part of HCL that spiffe-helper configuration files use (no HCL parser is available here):
/// <list type="bullet">
/// <item><c>key = value</c> attributes, one per line (or separated by commas);</item>
/// <item>values: double-quoted strings with the escapes <c>\\ \" \n \t \r</c>, integers (a leading <c>0</c> is kept,
/// so a mode such as <c>0644</c> stays octal), <c>true</c>/<c>false</c>, lists <c>[a, b]</c> (a trailing comma allowed),
/// objects <c>{ key = value, ... }</c>;</item>
/// <item>blocks <c>name { ... }</c> (same as <c>name = { ... }</c>); a repeated block name makes a list of blocks;</item>
/// <item>comments <c>#</c>, <c>//</c> to the end of the line and <c>/* ... */</c>.</item>
/// </list>
/// Not supported (an error names the line): heredocs, interpolation <c>${...}</c>, block labels, floats,
/// single-quoted strings.
/// </summary>
internal static class Hcl
{
    /// <summary>Parses a whole file into its top-level attributes, in order.</summary>
    /// <exception cref="HclException">The text is outside the subset; the message names the line and what was expected.</exception>
    public static IReadOnlyList<HclAttribute> Parse(string text)
    {
        var reader = new Reader(text);
        List<HclAttribute> body = reader.ParseBody(closing: null);
        return body;
    }

    private sealed class Reader(string text)
    {
        private int _position;
        private int _line = 1;

        public List<HclAttribute> ParseBody(char? closing)
        {
            var attributes = new List<HclAttribute>();
            while (true)
            {
                SkipSpace(newlines: true, commas: true);
                if (_position >= text.Length)
                {
                    if (closing is not null)
                    {
                        throw new HclException(_line, $"the file ends inside a block: a '{closing}' is missing");
                    }

                    return attributes;
                }

                if (text[_position] == closing)
                {
                    _position++;
                    return attributes;
                }

                int line = _line;
                string key = ReadKey();
                SkipSpace(newlines: false, commas: false);
                HclValue value;
                if (Peek() == '{')
                {
                    value = ParseValue();
                }
                else if (Peek() == '=' || Peek() == ':')
                {
                    _position++;
                    SkipSpace(newlines: false, commas: false);
                    if (_position >= text.Length || text[_position] is '\n' or '\r')
                    {
                        throw new HclException(line, $"'{key} =' has no value; give one on the same line, e.g. {key} = \"...\"");
                    }

                    value = ParseValue();
                }
                else if (Peek() == '"')
                {
                    throw new HclException(line, $"block labels ('{key} \"...\" {{') are not supported; write {key} {{ ... }} or {key} = ...");
                }
                else
                {
                    throw new HclException(line, $"expected '=' after '{key}'");
                }

                attributes.Add(new HclAttribute(key, line, value));
                SkipSpace(newlines: false, commas: false);
                if (_position < text.Length && text[_position] is not ('\n' or '\r' or ',') && text[_position] != closing)
                {
                    throw new HclException(_line, $"unexpected '{text[_position]}' after the value of '{key}'; put one attribute per line");
                }
            }
        }

        private HclValue ParseValue()
        {
            int line = _line;
            char c = Peek();
            switch (c)
            {
                case '"':
                    return new HclString(line, ReadString());
                case '[':
                    _position++;
                    return new HclList(line, ParseList());
                case '{':
                    _position++;
                    return new HclObject(line, ParseBody('}'));
                case '<':
                    throw new HclException(line, "heredoc strings (<<EOF) are not supported; use a double-quoted string");
                case '\'':
                    throw new HclException(line, "single-quoted strings are not supported; use double quotes");
            }

            if (c == '-' || char.IsAsciiDigit(c))
            {
                int start = _position++;
                while (_position < text.Length && (char.IsAsciiLetterOrDigit(text[_position]) || text[_position] is '.' or '_'))
                {
                    _position++;
                }

                string number = text[start.._position];
                if (!long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                {
                    throw new HclException(line, $"{number} is not a whole number");
                }

                return new HclNumber(line, number);
            }

            if (char.IsAsciiLetter(c))
            {
                string word = ReadKey();
                return word switch
                {
                    "true" => new HclBool(line, true),
                    "false" => new HclBool(line, false),
                    _ => throw new HclException(line, $"'{word}' is not a value; quote strings (\"{word}\"), or use true, false or a number"),
                };
            }

            throw new HclException(line, c == '\0' ? "a value is missing at the end of the file" : $"unexpected '{c}' where a value was expected");
        }

        private List<HclValue> ParseList()
        {
            var items = new List<HclValue>();
            while (true)
            {
                SkipSpace(newlines: true, commas: false);
                if (_position >= text.Length)
                {
                    throw new HclException(_line, "the file ends inside a list: a ']' is missing");
                }

                if (text[_position] == ']')
                {
                    _position++;
                    return items;
                }

                items.Add(ParseValue());
                SkipSpace(newlines: true, commas: false);
                if (Peek() == ',')
                {
                    _position++;
                }
                else if (Peek() != ']')
                {
                    throw new HclException(_line, Peek() == '\0' ? "the file ends inside a list: a ']' is missing" : $"expected ',' or ']' in a list, found '{Peek()}'");
                }
            }
        }

        private string ReadKey()
        {
            int start = _position;
            if (_position < text.Length && (char.IsAsciiLetter(text[_position]) || text[_position] == '_'))
            {
                while (_position < text.Length && (char.IsAsciiLetterOrDigit(text[_position]) || text[_position] is '_' or '-'))
                {
                    _position++;
                }

                return text[start.._position];
            }

            if (Peek() == '"')
            {
                return ReadString();
            }

            throw new HclException(_line, $"unexpected '{Peek()}' where a key was expected");
        }

        private string ReadString()
        {
            int line = _line;
            _position++; // opening quote
            var value = new StringBuilder();
            while (true)
            {
                if (_position >= text.Length || text[_position] is '\n' or '\r')
                {
                    throw new HclException(line, "a string is not closed: a '\"' is missing before the end of the line");
                }

                char c = text[_position++];
                if (c == '"')
                {
                    return value.ToString();
                }

                if (c == '$' && Peek() == '{')
                {
                    throw new HclException(line, "interpolation (${...}) is not supported; write the value itself");
                }

                if (c != '\\')
                {
                    value.Append(c);
                    continue;
                }

                char escaped = Peek();
                _position++;
                value.Append(escaped switch
                {
                    '\\' => '\\',
                    '"' => '"',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    _ => throw new HclException(line, $"unknown escape '\\{escaped}' in a string; use \\\\ for a backslash"),
                });
            }
        }

        private void SkipSpace(bool newlines, bool commas)
        {
            while (_position < text.Length)
            {
                char c = text[_position];
                if (c == '\n')
                {
                    if (!newlines)
                    {
                        return;
                    }

                    _line++;
                    _position++;
                }
                else if (c is ' ' or '\t' or '\r' || (commas && c == ','))
                {
                    _position++;
                }
                else if (c == '#' || (c == '/' && At(1) == '/'))
                {
                    while (_position < text.Length && text[_position] != '\n')
                    {
                        _position++;
                    }
                }
                else if (c == '/' && At(1) == '*')
                {
                    int line = _line;
                    int end = text.IndexOf("*/", _position + 2, StringComparison.Ordinal);
                    if (end < 0)
                    {
                        throw new HclException(line, "a /* comment is not closed with */");
                    }

                    _line += text.AsSpan(_position, end - _position).Count('\n');
                    _position = end + 2;
                }
                else
                {
                    return;
                }
            }
        }

        private char Peek() => _position < text.Length ? text[_position] : '\0';

        private char At(int offset) => _position + offset < text.Length ? text[_position + offset] : '\0';
    }
}

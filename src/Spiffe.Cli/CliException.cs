namespace Spiffe.Cli;

/// <summary>A failure whose message is already written for the user of the tool: printed as is, no stack trace.</summary>
internal sealed class CliException : Exception
{
    public CliException()
    {
    }

    public CliException(string message)
        : base(message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

using Microsoft.Extensions.Logging;

namespace Spiffe.Conformance.Harness;

/// <summary>
/// One line per message on stderr, written synchronously. Cheaper to start than the console
/// logger (no background queue, no options machinery), and stdout stays the protocol's alone.
/// </summary>
internal sealed class StderrLoggerProvider : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new StderrLogger(categoryName);

    public void Dispose()
    {
    }

    private sealed class StderrLogger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string level = logLevel switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
            string line = $"{level}: {category}[{eventId.Id}] {formatter(state, exception)}";
            Console.Error.WriteLine(exception is null ? line : $"{line}\n{exception}");
        }
    }
}

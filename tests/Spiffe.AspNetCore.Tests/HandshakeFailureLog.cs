using System.Collections.Concurrent;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// A logger provider for a test Kestrel that keeps the TLS handshake failures Kestrel logs (an
/// <see cref="AuthenticationException"/> in the logged exception), so a test can show the server
/// refused a client in the handshake: with TLS 1.3 the client only sees the connection end.
/// </summary>
internal sealed class HandshakeFailureLog : ILoggerProvider
{
    private readonly ConcurrentQueue<AuthenticationException> _failures = new();
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<AuthenticationException> Failures => [.. _failures];

    /// <summary>Completes when Kestrel has logged a handshake failure (it may log after the client saw the connection close).</summary>
    public Task WaitForFailureAsync() => _first.Task.WaitAsync(TimeSpan.FromSeconds(30));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private void Record(Exception? exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is AuthenticationException failure)
            {
                _failures.Enqueue(failure);
                _first.TrySetResult();
                return;
            }
        }
    }

    private sealed class Logger(HandshakeFailureLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log.Record(exception);
    }
}

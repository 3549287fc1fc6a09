using Microsoft.Extensions.Logging;

namespace Spiffe.Conformance.Harness;

/// <summary>The harness's log messages (stderr only). Tokens and keys are never logged.</summary>
internal static partial class HarnessLog
{
    [LoggerMessage(1, LogLevel.Information, "Listening: X.509 port {X509Port}, control port {ControlPort}; waiting for the first X509-SVID")]
    public static partial void Listening(ILogger logger, int x509Port, int controlPort);

    [LoggerMessage(2, LogLevel.Information, "READY {Milliseconds:0} ms after process start ({CpuMilliseconds:0} ms CPU) with X509-SVID {SpiffeId}")]
    public static partial void Ready(ILogger logger, double milliseconds, double cpuMilliseconds, string spiffeId);

    [LoggerMessage(3, LogLevel.Error, "The Workload API failed and the SDK does not retry this error; exiting")]
    public static partial void SourceFailed(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Information, "Stopping (signal)")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(5, LogLevel.Debug, "X.509 port: handshake with {Remote} refused: {Reason}")]
    public static partial void HandshakeRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(6, LogLevel.Debug, "X.509 port: {Remote} authenticated as {SpiffeId}")]
    public static partial void HandshakeAccepted(ILogger logger, string remote, string spiffeId);

    [LoggerMessage(7, LogLevel.Information, "Control: {Method} {Path} -> {StatusCode} {Detail}")]
    public static partial void ControlRequest(ILogger logger, string method, string path, int statusCode, string detail);

    [LoggerMessage(8, LogLevel.Error, "Control: {Method} {Path} failed")]
    public static partial void ControlFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Shutdown: {What} did not stop within 2 s")]
    public static partial void ShutdownStepTimedOut(ILogger logger, string what);

    [LoggerMessage(10, LogLevel.Warning, "Shutdown: {What} failed")]
    public static partial void ShutdownStepFailed(ILogger logger, string what, Exception exception);
}

using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Threading.Channels;

namespace Spiffe.Conformance.Tests;

/// <summary>
/// The harness as a real child process (<c>dotnet Spiffe.Conformance.Harness.dll</c>) with
/// SPIFFE_ENDPOINT_SOCKET set only in its environment. stdout is read line by line as the
/// protocol; stderr is kept for diagnostics and for waiting on the SDK's log events. Disposing
/// kills the process if it is still running.
/// </summary>
internal sealed class HarnessProcess : IAsyncDisposable
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly Channel<string> _stdout = Channel.CreateUnbounded<string>();
    private readonly List<string> _stdoutLines = [];
    private readonly List<string> _stderrLines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _stderrWaiters = [];
    private readonly object _gate = new();

    private HarnessProcess(Process process) => _process = process;

    public static string HarnessDll => typeof(HarnessProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "HarnessPath").Value!;

    public int Id => _process.Id;

    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _stdoutLines];
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _stderrLines);
            }
        }
    }

    public static HarnessProcess Start(string endpointSocket)
    {
        if (!File.Exists(HarnessDll))
        {
            throw new FileNotFoundException($"The harness is not built at {HarnessDll}; build tests/Spiffe.Conformance.Harness (the test project's ProjectReference does).", HarnessDll);
        }

        // DOTNET_HOST_PATH is set by the dotnet CLI for the test run; "dotnet" on PATH otherwise.
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        var info = new ProcessStartInfo(host, [HarnessDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.Environment["SPIFFE_ENDPOINT_SOCKET"] = endpointSocket;
        info.Environment["SPIFFE_HARNESS_LOG_LEVEL"] = "Debug";

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var harness = new HarnessProcess(process);
        process.OutputDataReceived += (_, e) => harness.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => harness.OnStderr(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return harness;
    }

    /// <summary>Reads stdout until READY (or the end of stdout), within <see cref="ReadyTimeout"/>; returns every line read.</summary>
    public async Task<IReadOnlyList<string>> WaitForReadyAsync()
    {
        using var timeout = new CancellationTokenSource(ReadyTimeout);
        try
        {
            while (await _stdout.Reader.WaitToReadAsync(timeout.Token))
            {
                while (_stdout.Reader.TryRead(out string? line))
                {
                    if (line == "READY")
                    {
                        return StdoutLines;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No READY within {ReadyTimeout.TotalSeconds} s. stdout: [{string.Join(" | ", StdoutLines)}] stderr:\n{Stderr}");
        }

        throw new InvalidOperationException($"stdout ended without READY (exit code {(_process.HasExited ? _process.ExitCode : "none")}). stdout: [{string.Join(" | ", StdoutLines)}] stderr:\n{Stderr}");
    }

    /// <summary>Waits for a stderr line (already written or to come) that matches.</summary>
    public async Task<string> WaitForStderrAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            string? existing = _stderrLines.FirstOrDefault(match);
            if (existing is not null)
            {
                return existing;
            }

            _stderrWaiters.Add((match, found));
        }

        try
        {
            return await found.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No matching stderr line within {timeout.TotalSeconds} s. stderr:\n{Stderr}");
        }
    }

    /// <summary>Sends SIGTERM through the system's <c>kill</c> command (no P/Invoke).</summary>
    public void SendSigterm()
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        if (!kill.WaitForExit(TimeSpan.FromSeconds(10)) || kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed");
        }
    }

    /// <summary>Waits for the process to exit; returns its exit code, or null when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or never started; nothing more can be done here.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            _stdout.Writer.TryComplete();
            return;
        }

        lock (_gate)
        {
            _stdoutLines.Add(line);
        }

        _stdout.Writer.TryWrite(line);
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>> matched = [];
        lock (_gate)
        {
            _stderrLines.Add(line);
            for (int i = _stderrWaiters.Count - 1; i >= 0; i--)
            {
                if (_stderrWaiters[i].Match(line))
                {
                    matched.Add(_stderrWaiters[i].Found);
                    _stderrWaiters.RemoveAt(i);
                }
            }
        }

        foreach (TaskCompletionSource<string> found in matched)
        {
            found.TrySetResult(line);
        }
    }
}

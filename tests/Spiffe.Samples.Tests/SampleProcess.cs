using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Spiffe.Samples.Tests;

/// <summary>
/// One sample program running as a real child process (<c>dotnet exec</c> on its built assembly),
/// its output captured line by line. Disposing kills it and its children, whatever state it is in.
/// </summary>
internal sealed class SampleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SampleProcess(Process process) => _process = process;

    /// <summary>Everything the process wrote so far, stdout and stderr interleaved, stderr lines prefixed "err: ".</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a sample, or the spiffe tool with <paramref name="sample"/> "SpiffeCli", on the Workload API at <paramref name="workloadApiAddress"/>.</summary>
    public static SampleProcess Start(string sample, string workloadApiAddress, params string[] arguments) =>
        StartWithEnvironment(sample, workloadApiAddress, new Dictionary<string, string>(), arguments);

    /// <summary>Like <see cref="Start"/>, with <c>SAMPLE_*</c> variables set for the sample (e.g. <c>SAMPLE_SVID_DIRECTORY</c>).</summary>
    public static SampleProcess StartWithEnvironment(string sample, string workloadApiAddress, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        string assembly = SamplePath(sample);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(assembly);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SPIFFE_ENDPOINT_SOCKET"] = workloadApiAddress;
        foreach (string inherited in start.Environment.Keys.Where(k => k.StartsWith("SAMPLE_", StringComparison.Ordinal)).ToArray())
        {
            start.Environment.Remove(inherited); // only the test's own arguments configure the sample
        }

        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var sampleProcess = new SampleProcess(process);
        process.OutputDataReceived += (_, e) => sampleProcess.OnLine(e.Data, null, sampleProcess._stdoutClosed);
        process.ErrorDataReceived += (_, e) => sampleProcess.OnLine(e.Data, "err: ", sampleProcess._stderrClosed);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {sample}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sampleProcess;
    }

    /// <summary>The first output line (past or future) that matches, or a failure carrying the output so far.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            string? already = _output.ToString().Split('\n').FirstOrDefault(match);
            if (already is not null)
            {
                return already;
            }

            _waiters.Add((match, found));
        }

        Task exited = _process.WaitForExitAsync();
        Task first = await Task.WhenAny(found.Task, exited, Task.Delay(timeout));
        if (first == found.Task)
        {
            return await found.Task;
        }

        string why = first == exited ? $"exited with {_process.ExitCode}" : $"did not print the expected line within {timeout.TotalSeconds:0} s";
        throw new TimeoutException($"The sample {why}. Output:\n{Output}");
    }

    /// <summary>Waits for the process to exit and for all its output; a hang fails instead of blocking.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The sample did not exit within {timeout.TotalSeconds:0} s. Output:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            // Never started, already reaped, or stuck in the kernel: nothing more a test can do.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static string SamplePath(string sample)
    {
        string? path = typeof(SampleProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == sample)?.Value;
        return path is not null && File.Exists(path)
            ? path
            : throw new InvalidOperationException($"The sample {sample} is not built at '{path}'; build tests/Spiffe.Samples.Tests (it references the samples).");
    }

    private void OnLine(string? line, string? prefix, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        line = prefix + line;
        List<TaskCompletionSource<string>> matched = [];
        lock (_output)
        {
            _output.Append(line).Append('\n');
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    matched.Add(_waiters[i].Found);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (TaskCompletionSource<string> found in matched)
        {
            found.TrySetResult(line);
        }
    }
}

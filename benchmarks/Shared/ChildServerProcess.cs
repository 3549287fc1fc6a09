using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Threading.Channels;

namespace Spiffe.BenchmarkShared;

/// <summary>
/// A measured server run as a child process: this same program started again in a server role, so the
/// server's CPU, memory and descriptors are its own. The protocol is lines: the child prints
/// <c>LISTENING &lt;port&gt;</c> once it accepts connections and answers each command written to its
/// standard input with one line starting with the reply word; closing its input tells it to stop.
/// Every other line of its output is echoed with a label. Shared by Spiffe.Soak and Spiffe.Load.
/// </summary>
internal sealed class ChildServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromMinutes(3);
    private readonly Process _process;
    private readonly string _label;
    private readonly string _replyPrefix;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Task _reading;

    private ChildServerProcess(Process process, string label, string replyWord)
    {
        _process = process;
        _label = label;
        _replyPrefix = replyWord + " ";
        _reading = Task.Run(ReadAsync);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[{label}] {e.Data}");
            }
        };
        process.BeginErrorReadLine();
    }

    public int ProcessId => _process.Id;

    public int Port { get; private set; }

    /// <summary>Starts <paramref name="program"/> with <paramref name="arguments"/> and waits until it listens.</summary>
    /// <param name="program">The program's assembly (the caller's own, also when a test host loaded it).</param>
    /// <param name="label">Names the server in echoed output and errors.</param>
    /// <param name="replyWord">The first word of the child's answers to commands (<c>STATS</c>, <c>SAMPLE</c>).</param>
    /// <param name="arguments">The child's command line (its role first).</param>
    /// <param name="environment">Variables set for the child.</param>
    public static async Task<ChildServerProcess> StartAsync(Assembly program, string label, string replyWord, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        string host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            // Started as `dotnet X.dll` (or `dotnet run`): the child needs the assembly path.
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(program.Location);
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var server = new ChildServerProcess(Process.Start(start) ?? throw new InvalidOperationException($"The {label} server process did not start."), label, replyWord);
        try
        {
            string line = await server.NextLineAsync();
            server.Port = line.StartsWith("LISTENING ", StringComparison.Ordinal)
                ? int.Parse(line.AsSpan(10), CultureInfo.InvariantCulture)
                : throw new InvalidOperationException($"The {label} server said '{line}' instead of LISTENING.");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes <paramref name="command"/> and returns the fields of the answer (the reply word first), checking their number.</summary>
    public async Task<string[]> AskAsync(string command, int fields)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        string line = await NextLineAsync();
        string[] f = line.Split(' ');
        if (f.Length != fields || !line.StartsWith(_replyPrefix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The {_label} server said '{line}' instead of {_replyPrefix.Trim()} with {fields - 1} values.");
        }

        return f;
    }

    private async Task<string> NextLineAsync()
    {
        using var timeout = new CancellationTokenSource(s_answerTimeout);
        try
        {
            return await _lines.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The {_label} server did not answer within {s_answerTimeout.TotalSeconds} s.");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The {_label} server ended (exit code {(_process.WaitForExit(5000) ? _process.ExitCode : -1)}).");
        }
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("LISTENING ", StringComparison.Ordinal) || line.StartsWith(_replyPrefix, StringComparison.Ordinal))
            {
                await _lines.Writer.WriteAsync(line);
            }
            else
            {
                Console.WriteLine($"[{_label}] {line}");
            }
        }

        _lines.Writer.Complete();
    }

    public async ValueTask DisposeAsync()
    {
        // Closing its input is the server's signal to stop; it is killed only if it does not.
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // already gone
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        await _reading;
        _process.Dispose();
    }
}

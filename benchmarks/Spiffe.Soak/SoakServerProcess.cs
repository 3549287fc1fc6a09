using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;

namespace Spiffe.Soak;

/// <summary>
/// The measured server as a child process (this same program in its server role), so its resident
/// memory and descriptors are its own and not the load's or the agent's.
/// </summary>
internal sealed class SoakServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromMinutes(3);
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Task _reading;

    private SoakServerProcess(Process process)
    {
        _process = process;
        _reading = Task.Run(ReadAsync);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[server] {e.Data}");
            }
        };
        process.BeginErrorReadLine();
    }

    public int ProcessId => _process.Id;

    public int Port { get; private set; }

    public static async Task<SoakServerProcess> StartAsync(string agentAddress, SpiffeId ownId, SpiffeId clientId)
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
            // Started as `dotnet Spiffe.Soak.dll` (or `dotnet run`): the child needs the assembly path.
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(typeof(SoakServerProcess).Assembly.Location);
        }

        foreach (string arg in new[] { SoakServer.Role, agentAddress, ownId.ToString(), clientId.ToString() })
        {
            start.ArgumentList.Add(arg);
        }

        var server = new SoakServerProcess(Process.Start(start) ?? throw new InvalidOperationException("The server process did not start."));
        try
        {
            string line = await server.NextLineAsync();
            server.Port = line.StartsWith("LISTENING ", StringComparison.Ordinal)
                ? int.Parse(line.AsSpan(10), CultureInfo.InvariantCulture)
                : throw new InvalidOperationException($"The server said '{line}' instead of LISTENING.");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Asks the server for one reading of itself.</summary>
    public async Task<SoakSample> SampleAsync()
    {
        await _process.StandardInput.WriteLineAsync("sample");
        await _process.StandardInput.FlushAsync();
        string line = await NextLineAsync();
        string[] f = line.Split(' ');
        if (f.Length != 11 || f[0] != "SAMPLE")
        {
            throw new InvalidOperationException($"The server said '{line}' instead of SAMPLE.");
        }

        long N(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        return new SoakSample
        {
            Server = new ProcessMemory(N(2), (int)N(3), (int)N(4)),
            HeapBytes = N(5),
            Gen2Collections = (int)N(6),
            ServerRequests = N(7),
            ServerUpdates = N(8),
            NativeInUseBytes = N(9),
            NativeFreeBytes = N(10),
        };
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
            throw new TimeoutException($"The server process did not answer within {s_answerTimeout.TotalSeconds} s.");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The server process ended (exit code {(_process.WaitForExit(5000) ? _process.ExitCode : -1)}).");
        }
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("LISTENING ", StringComparison.Ordinal) || line.StartsWith("SAMPLE ", StringComparison.Ordinal))
            {
                await _lines.Writer.WriteAsync(line);
            }
            else
            {
                Console.WriteLine($"[server] {line}");
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

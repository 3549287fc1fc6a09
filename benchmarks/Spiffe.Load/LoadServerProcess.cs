using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;

namespace Spiffe.Load;

/// <summary>What a server process has counted since it started.</summary>
internal readonly record struct ServerStats(long Requests, long Handshakes, long Resumed)
{
    public static ServerStats operator -(ServerStats after, ServerStats before) =>
        new(after.Requests - before.Requests, after.Handshakes - before.Handshakes, after.Resumed - before.Resumed);
}

/// <summary>
/// A measured server as a child process (this program in its <c>server</c> role), so the server's
/// CPU is its own and the load never runs on its thread pool.
/// </summary>
internal sealed class LoadServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromMinutes(3);
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Task _reading;

    private LoadServerProcess(Process process, ServerMode mode)
    {
        _process = process;
        Mode = mode;
        _reading = Task.Run(ReadAsync);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[{ServerModes.Name(mode)}] {e.Data}");
            }
        };
        process.BeginErrorReadLine();
    }

    public ServerMode Mode { get; }

    public int ProcessId => _process.Id;

    public int Port { get; private set; }

    /// <summary>Starts this program as <c>server --mode …</c> with <paramref name="arguments"/> and waits for it to listen.</summary>
    public static async Task<LoadServerProcess> StartAsync(ServerMode mode, string? agentAddress, IEnumerable<string> arguments)
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
            // Started as `dotnet Spiffe.Load.dll` (or `dotnet run`): the child needs the assembly path.
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(typeof(LoadServerProcess).Assembly.Location);
        }

        start.ArgumentList.Add(LoadServer.Role);
        start.ArgumentList.Add("--mode");
        start.ArgumentList.Add(ServerModes.Name(mode));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (agentAddress is not null)
        {
            start.Environment[Spiffe.WorkloadApi.WorkloadApiAddress.EnvironmentVariable] = agentAddress;
        }

        var server = new LoadServerProcess(Process.Start(start) ?? throw new InvalidOperationException("The server process did not start."), mode);
        try
        {
            string line = await server.NextLineAsync();
            server.Port = line.StartsWith("LISTENING ", StringComparison.Ordinal)
                ? int.Parse(line.AsSpan(10), CultureInfo.InvariantCulture)
                : throw new InvalidOperationException($"The {ServerModes.Name(mode)} server said '{line}' instead of LISTENING.");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async Task<ServerStats> StatsAsync()
    {
        await _process.StandardInput.WriteLineAsync("stats");
        await _process.StandardInput.FlushAsync();
        string line = await NextLineAsync();
        string[] f = line.Split(' ');
        if (f.Length != 4 || f[0] != "STATS")
        {
            throw new InvalidOperationException($"The {ServerModes.Name(Mode)} server said '{line}' instead of STATS.");
        }

        long N(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        return new ServerStats(N(1), N(2), N(3));
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
            throw new TimeoutException($"The {ServerModes.Name(Mode)} server did not answer within {s_answerTimeout.TotalSeconds} s.");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The {ServerModes.Name(Mode)} server ended (exit code {(_process.WaitForExit(5000) ? _process.ExitCode : -1)}).");
        }
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("LISTENING ", StringComparison.Ordinal) || line.StartsWith("STATS ", StringComparison.Ordinal))
            {
                await _lines.Writer.WriteAsync(line);
            }
            else
            {
                Console.WriteLine($"[{ServerModes.Name(Mode)}] {line}");
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

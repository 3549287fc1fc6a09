using System.Globalization;
using Spiffe.BenchmarkShared;

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
    private readonly ChildServerProcess _child;

    private LoadServerProcess(ChildServerProcess child, ServerMode mode)
    {
        _child = child;
        Mode = mode;
    }

    public ServerMode Mode { get; }

    public int ProcessId => _child.ProcessId;

    public int Port => _child.Port;

    /// <summary>Starts this program as <c>server --mode …</c> with <paramref name="arguments"/> and waits for it to listen.</summary>
    public static async Task<LoadServerProcess> StartAsync(ServerMode mode, string? agentAddress, IEnumerable<string> arguments)
    {
        Dictionary<string, string> environment = [];
        if (agentAddress is not null)
        {
            environment[Spiffe.WorkloadApi.WorkloadApiAddress.EnvironmentVariable] = agentAddress;
        }

        string[] commandLine = [LoadServer.Role, "--mode", ServerModes.Name(mode), .. arguments];
        ChildServerProcess child = await ChildServerProcess.StartAsync(typeof(LoadServerProcess).Assembly, ServerModes.Name(mode), "STATS", commandLine, environment);
        return new LoadServerProcess(child, mode);
    }

    public async Task<ServerStats> StatsAsync()
    {
        string[] f = await _child.AskAsync("stats", 4);
        long N(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        return new ServerStats(N(1), N(2), N(3));
    }

    public ValueTask DisposeAsync() => _child.DisposeAsync();
}

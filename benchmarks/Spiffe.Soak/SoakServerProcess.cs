using System.Globalization;
using Spiffe.BenchmarkShared;

namespace Spiffe.Soak;

/// <summary>
/// The measured server as a child process (this same program in its server role), so its resident
/// memory and descriptors are its own and not the load's or the agent's.
/// </summary>
internal sealed class SoakServerProcess : IAsyncDisposable
{
    private readonly ChildServerProcess _child;

    private SoakServerProcess(ChildServerProcess child) => _child = child;

    public int ProcessId => _child.ProcessId;

    public int Port => _child.Port;

    public static async Task<SoakServerProcess> StartAsync(string agentAddress, SpiffeId ownId, SpiffeId clientId) =>
        new(await ChildServerProcess.StartAsync(typeof(SoakServerProcess).Assembly, "server", "SAMPLE", [SoakServer.Role, agentAddress, ownId.ToString(), clientId.ToString()]));

    /// <summary>Asks the server for one reading of itself.</summary>
    public async Task<SoakSample> SampleAsync()
    {
        string[] f = await _child.AskAsync("sample", 11);
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

    public ValueTask DisposeAsync() => _child.DisposeAsync();
}

namespace Spiffe.Cli.Tests;

/// <summary>A <c>spiffe dev-agent</c> run in-process: started, awaited until ready (or failed), stopped like Ctrl-C.</summary>
internal sealed class RunningAgent : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource _stop = new();

    private RunningAgent(string[] args, Func<string, string?> environment)
    {
        Exit = SpiffeCli.RunAsync(args, Output, Output, environment, _stop.Token);
    }

    public LineWriter Output { get; } = new();

    public Task<int> Exit { get; }

    /// <summary>Starts the agent and returns once it printed "dev-agent ready" or exited.</summary>
    public static async Task<RunningAgent> StartAsync(string[] args, Func<string, string?>? environment = null)
    {
        var agent = new RunningAgent(args, environment ?? (_ => null));
        using var timeout = new CancellationTokenSource(s_timeout);
        Task ready = agent.Output.WaitForLineAsync("dev-agent ready", timeout.Token);
        await Task.WhenAny(ready, agent.Exit);
        if (!agent.Exit.IsCompleted)
        {
            await ready;
        }

        return agent;
    }

    /// <summary>Stops the agent (as Ctrl-C does) and returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await Exit.WaitAsync(s_timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}

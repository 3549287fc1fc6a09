using Spiffe.Testing;

namespace Spiffe.Samples.Tests;

/// <summary>
/// An in-process development agent on a Unix socket and one sample service process using it. The
/// agent issues every ID to every caller with "intruder" as the default, as <c>spiffe dev-agent</c>
/// would: a sample that did not pick its own SVID by ID would present the wrong one and fail.
/// </summary>
public abstract class SampleService : IAsyncLifetime
{
    public static readonly SpiffeId Backend = SpiffeId.Parse("spiffe://example.org/backend");
    public static readonly SpiffeId Frontend = SpiffeId.Parse("spiffe://example.org/frontend");
    public static readonly SpiffeId Intruder = SpiffeId.Parse("spiffe://example.org/intruder");
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90); // two shared cores, cold JIT: be generous

    private readonly string _sample;
    private SampleProcess? _service;

    protected SampleService(string sample) => _sample = sample;

    public DevelopmentAgent Agent { get; private set; } = null!;

    /// <summary>The service's https:// address as it printed it.</summary>
    public string Address { get; private set; } = null!;

    public string ServiceOutput => _service?.Output ?? "";

    public async Task InitializeAsync()
    {
        var options = new DevelopmentAgentOptions { TrustDomain = TrustDomain.Parse("example.org") };
        options.Ids.Add(Intruder);
        options.Ids.Add(Frontend);
        options.Ids.Add(Backend);
        Agent = await DevelopmentAgent.StartAsync(options);

        _service = SampleProcess.Start(_sample, Agent.Address, "--host", "127.0.0.1", "--port", "0", "--id", Backend.ToString(), "--client-id", Frontend.ToString());
        string listening = await _service.WaitForLineAsync(l => l.StartsWith("listening on https://127.0.0.1:", StringComparison.Ordinal), Timeout);
        Address = listening.Split(' ')[2];
    }

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        if (Agent is not null)
        {
            await Agent.DisposeAsync();
        }
    }
}

public sealed class KestrelSampleService() : SampleService("Spiffe.Samples.KestrelService");

public sealed class GrpcSampleService() : SampleService("Spiffe.Samples.GrpcService");

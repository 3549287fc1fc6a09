using Spiffe.Samples.Tests;
using Spiffe.Testing;

namespace Spiffe.ZeroTrust.Tests;

/// <summary>
/// The checkout → payment-processor scenario of samples/ZeroTrust: an in-process development agent
/// for prod.example.com on a Unix socket (its default SVID is a storefront workload, so a process
/// that did not pick its own ID would be refused), and payment-processor running as a real process.
/// </summary>
public sealed class ZeroTrustScenario : IAsyncLifetime
{
    public static readonly SpiffeId Storefront = SpiffeId.Parse("spiffe://prod.example.com/ns/shop/sa/storefront");
    public static readonly SpiffeId Checkout = SpiffeId.Parse("spiffe://prod.example.com/ns/payments/sa/checkout-service");
    public static readonly SpiffeId Processor = SpiffeId.Parse("spiffe://prod.example.com/ns/payments/sa/payment-processor");
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90); // two shared cores, cold JIT

    private SampleProcess? _processor;

    public DevelopmentAgent Agent { get; private set; } = null!;

    /// <summary>payment-processor's https:// address, as it printed it.</summary>
    public string Address { get; private set; } = null!;

    public string ProcessorOutput => _processor?.Output ?? "";

    public async Task InitializeAsync()
    {
        var options = new DevelopmentAgentOptions { TrustDomain = TrustDomain.Parse("prod.example.com") };
        options.Ids.Add(Storefront);
        options.Ids.Add(Checkout);
        options.Ids.Add(Processor);
        Agent = await DevelopmentAgent.StartAsync(options);

        _processor = SampleProcess.Start("Spiffe.Samples.PaymentProcessor", Agent.Address, "--ZeroTrust:Port=0");
        string listening = await _processor.WaitForLineAsync(l => l.StartsWith("payment-processor listening on https://127.0.0.1:", StringComparison.Ordinal), Timeout);
        Address = listening.Split(' ')[3];
    }

    /// <summary>Runs checkout-service once with <paramref name="arguments"/> and returns its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> RunCheckoutAsync(params string[] arguments)
    {
        await using SampleProcess checkout = SampleProcess.Start("Spiffe.Samples.CheckoutService", Agent.Address, ["--processor", Address, .. arguments]);
        int exitCode = await checkout.WaitForExitAsync(Timeout);
        return (exitCode, checkout.Output);
    }

    public async Task DisposeAsync()
    {
        if (_processor is not null)
        {
            await _processor.DisposeAsync();
        }

        if (Agent is not null)
        {
            await Agent.DisposeAsync();
        }
    }
}

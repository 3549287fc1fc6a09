using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Spiffe.Samples.Tests;
using Spiffe.Testing;
using Spiffe.Tests.Shared;

namespace Spiffe.ZeroTrust.Tests;

/// <summary>
/// The checkout → payment-processor scenario of samples/ZeroTrust: an in-process development agent
/// for prod.example.com on a Unix socket (its default SVID is a storefront workload, so a process
/// that did not pick its own ID would be refused), and payment-processor running as a real process
/// with the decision point a subclass chooses, its log written as JSON lines so that the test can
/// read its audit events.
/// </summary>
public abstract class ZeroTrustScenario : IAsyncLifetime
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

    /// <summary>The payment-processor arguments that choose the decision point.</summary>
    protected abstract Task<string[]> PrepareDecisionPointAsync();

    public async Task InitializeAsync()
    {
        var options = new DevelopmentAgentOptions { TrustDomain = TrustDomain.Parse("prod.example.com") };
        options.Ids.Add(Storefront);
        options.Ids.Add(Checkout);
        options.Ids.Add(Processor);
        Agent = await DevelopmentAgent.StartAsync(options);

        string[] decisionPoint = await PrepareDecisionPointAsync();
        _processor = SampleProcess.Start(
            "Spiffe.Samples.PaymentProcessor",
            Agent.Address,
            ["--ZeroTrust:Port=0", "--Logging:Console:FormatterName=json", .. decisionPoint]);
        string listening = await _processor.WaitForLineAsync(l => l.StartsWith("payment-processor listening on https://127.0.0.1:", StringComparison.Ordinal), Timeout);
        Address = listening.Split(' ')[3].TrimEnd(',');
    }

    /// <summary>Runs checkout-service once with <paramref name="arguments"/> and returns its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> RunCheckoutAsync(params string[] arguments)
    {
        await using SampleProcess checkout = SampleProcess.Start("Spiffe.Samples.CheckoutService", Agent.Address, ["--processor", Address, .. arguments]);
        int exitCode = await checkout.WaitForExitAsync(Timeout);
        return (exitCode, checkout.Output);
    }

    /// <summary>
    /// The first audit event of payment-processor's log (category Spiffe.Audit, JSON console
    /// formatter) with event ID <paramref name="eventId"/> that matches, waiting for it: the event is
    /// written when the request ends, which may be after the caller has read the answer.
    /// </summary>
    public async Task<AuditEntry> WaitForAuditAsync(int eventId, Func<AuditEntry, bool> match)
    {
        string line = await _processor!.WaitForLineAsync(l => AuditEntry.TryParse(l, out AuditEntry? e) && e.EventId == eventId && match(e), TimeSpan.FromSeconds(30));
        return AuditEntry.TryParse(line, out AuditEntry? entry) ? entry : throw new InvalidOperationException("unreachable: the line matched");
    }

    public virtual async Task DisposeAsync()
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

/// <summary>payment-processor deciding with the rule set of its appsettings.json (the default).</summary>
public sealed class RulesScenario : ZeroTrustScenario
{
    protected override Task<string[]> PrepareDecisionPointAsync() => Task.FromResult<string[]>([]);
}

/// <summary>
/// payment-processor deciding with OPA: an in-test server speaking OPA's Data API that evaluates
/// samples/ZeroTrust/opa/policy.rego written in C# (<c>data.http.authz.allow</c>; any other document is undefined).
/// </summary>
public sealed class OpaScenario : ZeroTrustScenario
{
    public OpaDataApiTestServer Pdp { get; private set; } = null!;

    /// <summary>package http.authz — allow if the caller is checkout-service, the method POST and the path /v1/payments.</summary>
    private static bool Allow(JsonElement input) =>
        Text(input, "caller", "spiffe_id") == Checkout.ToString()
        && Text(input, "request", "method") == "POST"
        && Text(input, "request", "path") == "/v1/payments";

    protected override async Task<string[]> PrepareDecisionPointAsync()
    {
        Pdp = await OpaDataApiTestServer.StartAsync(static (path, input) => path == "http/authz/allow" ? (Allow(input) ? "true" : "false") : null);
        return ["--ZeroTrust:Authorization=Opa", "--ZeroTrust:OpaUrl=" + Pdp.Address];
    }

    // input.<member>.<property> when it is a string, as Rego reads it; null (the rule fails) otherwise.
    private static string? Text(JsonElement input, string member, string property) =>
        input.ValueKind == JsonValueKind.Object
        && input.TryGetProperty(member, out JsonElement parent)
        && parent.ValueKind == JsonValueKind.Object
        && parent.TryGetProperty(property, out JsonElement value)
        && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Pdp is not null)
        {
            await Pdp.DisposeAsync();
        }
    }
}

/// <summary>payment-processor in OPA mode with OPA down: its endpoint is a loopback port where nothing listens.</summary>
public sealed class OpaDownScenario : ZeroTrustScenario
{
    protected override Task<string[]> PrepareDecisionPointAsync() =>
        Task.FromResult<string[]>(["--ZeroTrust:Authorization=Opa", "--ZeroTrust:OpaUrl=" + OpaDataApiTestServer.RefusingAddress()]);
}

/// <summary>One line of payment-processor's JSON console log that belongs to the audit trail.</summary>
public sealed class AuditEntry
{
    private readonly Dictionary<string, string?> _state;

    private AuditEntry(int eventId, Dictionary<string, string?> state, string line)
    {
        EventId = eventId;
        _state = state;
        Line = line;
    }

    public int EventId { get; }

    public string Line { get; }

    /// <summary>A field of the event (the message template's names: Caller, Decision, DecisionSource, DecisionId…); null when absent or null.</summary>
    public string? this[string name] => _state.TryGetValue(name, out string? value) ? value : null;

    public static bool TryParse(string line, [NotNullWhen(true)] out AuditEntry? entry)
    {
        entry = null;
        if (!line.StartsWith('{'))
        {
            return false;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            if (!root.TryGetProperty("Category", out JsonElement category) || category.GetString() != "Spiffe.Audit"
                || !root.TryGetProperty(nameof(EventId), out JsonElement id) || !root.TryGetProperty("State", out JsonElement state))
            {
                return false;
            }

            var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (JsonProperty field in state.EnumerateObject())
            {
                fields[field.Name] = field.Value.ValueKind switch
                {
                    JsonValueKind.Null => null,
                    JsonValueKind.String => field.Value.GetString(),
                    _ => field.Value.GetRawText(),
                };
            }

            entry = new AuditEntry(id.GetInt32(), fields, line);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public override string ToString() => Line;
}

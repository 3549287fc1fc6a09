using System.Diagnostics.Metrics;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>The authorization instruments (docs/telemetry.md), on a meter from the app's <see cref="IMeterFactory"/>.</summary>
internal sealed class SpiffeAuthorizationMetrics
{
    public const string MeterName = "Spiffe.AspNetCore";
    public const string DecisionsName = "spiffe.authorization.decisions";
    public const string OutcomeTag = "spiffe.authorization.outcome";
    public const string PolicyTag = "spiffe.authorization.policy";

    private readonly Counter<long> _decisions;

    public SpiffeAuthorizationMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(MeterName);
        _decisions = meter.CreateCounter<long>(DecisionsName, unit: "{decision}", description: "Authorization decisions on endpoints, by outcome (allowed, challenged, forbidden, unavailable) and policy.");
    }

    public void Record(string outcome, string policy)
    {
        if (_decisions.Enabled)
        {
            _decisions.Add(1, new KeyValuePair<string, object?>(OutcomeTag, outcome), new KeyValuePair<string, object?>(PolicyTag, policy));
        }
    }
}

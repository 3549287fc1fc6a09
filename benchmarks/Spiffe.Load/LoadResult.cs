namespace Spiffe.Load;

/// <summary>The machine-readable outcome of a run, printed as one <c>RESULT {json}</c> line.</summary>
internal sealed record LoadResult(IReadOnlyList<ScenarioResult> Scenarios, long Failed, IReadOnlyList<string> CheckFailures, string LoadAverageStart, string LoadAverageEnd)
{
    /// <summary>The servers passed the checks before the load, every row served requests, and no request failed.</summary>
    public bool Passed => Failed == 0 && CheckFailures.Count == 0 && Scenarios.All(s => s.Rows.All(r => r.Requests > 0));
}

/// <summary>One scenario: its rows, each compared with the baseline row measured in the same run.</summary>
internal sealed record ScenarioResult(string Name, string Baseline, IReadOnlyList<RowResult> Rows);

/// <summary>
/// One row over all measured rounds. <see cref="Ratio"/> is its requests/s over the baseline's (totals);
/// <see cref="MedianRoundRatio"/> the median of the per-round ratios. Server counts are the server
/// process's own, over the measured rounds: handshakes it validated (the SDK: accepted peers, resumed
/// ones included; raw Kestrel: client certificate callbacks) and, for the SDK, resumed sessions
/// accepted from an earlier full validation.
/// </summary>
internal sealed record RowResult(
    string Name,
    string Server,
    bool NewConnections,
    bool Resume,
    long Requests,
    long Failed,
    double Seconds,
    double RequestsPerSecond,
    double Ratio,
    double MedianRoundRatio,
    long ServerRequests,
    long ServerHandshakes,
    long ServerResumed);

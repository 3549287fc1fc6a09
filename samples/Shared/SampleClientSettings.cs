namespace Spiffe.Samples;

/// <summary>What both sample clients are told: who they are, whom they call, where, and how often.</summary>
internal sealed record SampleClientSettings(SpiffeId OwnId, SpiffeId ServerId, Uri Address, int Count, TimeSpan Interval)
{
    /// <exception cref="ArgumentException">A bad or unknown option; the message says which (and the usage).</exception>
    public static SampleClientSettings Parse(string[] args, string program)
    {
        SampleArguments arguments = SampleArguments.Parse(args);
        SpiffeId ownId = arguments.GetSpiffeId("--id", "SAMPLE_SPIFFE_ID", "spiffe://example.org/frontend");
        SpiffeId serverId = arguments.GetSpiffeId("--server-id", "SAMPLE_SERVER_ID", "spiffe://example.org/backend");
        string addressText = arguments.Get("--address", "SAMPLE_SERVER_ADDRESS", "https://localhost:8443");
        Uri address = Uri.TryCreate(addressText, UriKind.Absolute, out Uri? parsed) && parsed.Scheme == Uri.UriSchemeHttps
            ? parsed
            : throw new ArgumentException($"--address (SAMPLE_SERVER_ADDRESS): '{addressText}' is not an https:// URL.");
        int count = arguments.GetInt32("--count", "SAMPLE_COUNT", 0, 0, int.MaxValue);
        int intervalMs = arguments.GetInt32("--interval-ms", "SAMPLE_INTERVAL_MS", 1000, 1, 3_600_000);
        arguments.ThrowIfUnknownOptions($"{program} [--id spiffe://example.org/frontend] [--server-id spiffe://example.org/backend] [--address https://localhost:8443] [--count 0 (until stopped)] [--interval-ms 1000]");
        return new SampleClientSettings(ownId, serverId, address, count, TimeSpan.FromMilliseconds(intervalMs));
    }
}

namespace Spiffe.Samples;

/// <summary>What both sample clients are told: who they are, whom they call, where, and how often.</summary>
internal sealed record SampleClientSettings(SpiffeId OwnId, SpiffeId ServerId, Uri Address, int Count, TimeSpan Interval)
{
    /// <summary>Parses the options, or writes what is wrong (and the usage) to stderr and returns false.</summary>
    public static bool TryParse(string[] args, string program, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SampleClientSettings? settings)
    {
        try
        {
            settings = Parse(args, program);
            return true;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            settings = null;
            return false;
        }
    }

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

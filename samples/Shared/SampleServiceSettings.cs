using System.Net;

namespace Spiffe.Samples;

/// <summary>What both sample services are told: who they are, which client they admit, where to listen.</summary>
internal sealed record SampleServiceSettings(SpiffeId OwnId, SpiffeId ClientId, IPAddress Host, int Port)
{
    /// <exception cref="ArgumentException">A bad or unknown option; the message says which (and the usage).</exception>
    public static SampleServiceSettings Parse(string[] args, string program)
    {
        SampleArguments arguments = SampleArguments.Parse(args);
        SpiffeId ownId = arguments.GetSpiffeId("--id", "SAMPLE_SPIFFE_ID", "spiffe://example.org/backend");
        SpiffeId clientId = arguments.GetSpiffeId("--client-id", "SAMPLE_CLIENT_ID", "spiffe://example.org/frontend");
        string hostText = arguments.Get("--host", "SAMPLE_HOST", "0.0.0.0");
        IPAddress host = IPAddress.TryParse(hostText, out IPAddress? parsed) ? parsed : throw new ArgumentException($"--host (SAMPLE_HOST): '{hostText}' is not an IP address.");
        int port = arguments.GetInt32("--port", "SAMPLE_PORT", 8443, 0, 65535); // 0: any free port, printed once bound
        arguments.ThrowIfUnknownOptions($"{program} [--id spiffe://example.org/backend] [--client-id spiffe://example.org/frontend] [--host 0.0.0.0] [--port 8443]");
        return new SampleServiceSettings(ownId, clientId, host, port);
    }
}

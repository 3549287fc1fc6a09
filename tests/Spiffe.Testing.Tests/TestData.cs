using Grpc.Core;

namespace Spiffe.Testing.Tests;

/// <summary>Arbitrary protocol bytes: the server never parses certificates, keys or tokens.</summary>
internal static class TestData
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static WorkloadApiX509Svid Svid(string spiffeId, byte marker, string? hint = null) =>
        new(spiffeId, [0x30, marker, 0x01], [0x30, marker, 0x02], [0x30, marker, 0x03], hint);

    public static Dictionary<string, byte[]> Bundles(params (string TrustDomainId, byte Marker)[] entries) =>
        entries.ToDictionary(e => e.TrustDomainId, e => new byte[] { 0x30, e.Marker });

    /// <summary>Sets state for every method so that only the rule under test can fail a call.</summary>
    public static void SetFullState(WorkloadApiServer server)
    {
        server.SetX509Svids([Svid("spiffe://example.org/workload", 1)]);
        server.SetX509Bundles(Bundles(("spiffe://example.org", 2)));
        server.SetJwtBundles(Bundles(("spiffe://example.org", 3)));
        server.SetJwtSvids([new WorkloadApiJwtSvid("spiffe://example.org/workload", "header.payload.signature")]);
        server.SetJwtSvidValidator((_, _) => ("spiffe://example.org/workload", new Dictionary<string, object?>()));
    }

    public static Metadata NoHeaders => [];
}

using Grpc.Core;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>The sources' instruments on meter "Spiffe.WorkloadApi" (process-wide, so tests run serially).</summary>
[Collection(SerialTests.Name)]
public sealed class MetricsTests
{
    private const string Meter = "Spiffe.WorkloadApi";

    [Fact]
    public async Task Sources_RecordUpdatesRestartsDiscardsAndTimeToExpiry()
    {
        using var updates = new MetricCollector<long>(null, Meter, "spiffe.workload_api.updates");
        using var restarts = new MetricCollector<long>(null, Meter, "spiffe.workload_api.stream.restarts");
        using var discarded = new MetricCollector<long>(null, Meter, "spiffe.workload_api.discarded");
        using var expiry = new MetricCollector<double>(null, Meter, "spiffe.x509_svid.time_to_expiry");
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());

        Assert.Contains(updates.GetMeasurementSnapshot(), m => Equals(m.Tags["kind"], "x509_context") && m.Value == 1);

        // On the open stream: a malformed message, then a good one; wait until the good one is presented.
        WorkloadApiX509Svid b = agent.Svid(TestAgent.Web);
        byte[] leafB = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(b.CertificateChainDer).RawData;
        Assert.Equal(1, agent.Server.PushX509SvidsRaw([]));
        Assert.Equal(1, agent.Server.PushX509SvidsRaw([b]));
        for (int i = 0; i < 3; i++)
        {
            Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
            if (source.GetX509Svid().Certificate.RawData.AsSpan().SequenceEqual(leafB))
            {
                break;
            }

            await next;
        }

        Assert.Equal(leafB, source.GetX509Svid().Certificate.RawData);
        Assert.Contains(discarded.GetMeasurementSnapshot(), m => Equals(m.Tags["kind"], "x509_context"));

        agent.Server.EndStreams(StatusCode.Unavailable, "agent restarting");
        await agent.Server.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 2, TestAgent.Timeout());
        Assert.Contains(restarts.GetMeasurementSnapshot(), m => Equals(m.Tags["grpc.status_code"], "Unavailable") && Equals(m.Tags["kind"], "x509_context"));

        expiry.RecordObservableInstruments();
        Assert.Contains(expiry.GetMeasurementSnapshot(), m => Equals(m.Tags["spiffe.id"], TestAgent.Web.ToString()) && m.Value is > 3500 and <= 3600);
    }
}

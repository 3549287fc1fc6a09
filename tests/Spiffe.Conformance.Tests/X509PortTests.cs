using Spiffe.X509;

namespace Spiffe.Conformance.Tests;

[Collection(HarnessProcesses.Name)]
public sealed class X509PortTests(SharedHarness shared)
{
    [Fact]
    public async Task Handshake_ClientSvidFromSameCa_WritesClientIdLineAndPresentsHarnessSvid()
    {
        using X509Svid client = shared.Agent.ClientSvid("client");

        ProbeResult result = await TlsProbe.ConnectAsync(shared.X509Port, client, shared.Agent);

        Assert.True(result.HandshakeCompleted);
        Assert.Equal("spiffe://example.org/client\n", result.Received);
        Assert.True(result.ServerCertificate!.TryGetSpiffeId(out SpiffeId? serverId));
        Assert.Equal(ConformanceAgent.HarnessId, serverId);
    }

    [Fact]
    public async Task Handshake_ClientFromFederatedTrustDomain_WritesClientIdLine()
    {
        using X509Svid client = shared.Agent.PartnerCa.CreateX509Svid(SpiffeId.Parse("spiffe://partner.org/peer"));

        ProbeResult result = await TlsProbe.ConnectAsync(shared.X509Port, client, shared.Agent);

        Assert.Equal("spiffe://partner.org/peer\n", result.Received);
    }

    [Fact]
    public async Task Handshake_ClientSvidFromAnotherCaOfSameTrustDomain_RefusedWithNothingWritten()
    {
        using X509Svid client = shared.Agent.ForeignCa.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/client"));

        ProbeResult result = await TlsProbe.ConnectAsync(shared.X509Port, client, shared.Agent);

        Assert.Equal(string.Empty, result.Received);
    }

    [Fact]
    public async Task Handshake_ClientFromTrustDomainWithoutBundle_RefusedWithNothingWritten()
    {
        using X509Svid client = shared.Agent.StrangerCa.CreateX509Svid(SpiffeId.Parse("spiffe://stranger.org/client"));

        ProbeResult result = await TlsProbe.ConnectAsync(shared.X509Port, client, shared.Agent);

        Assert.Equal(string.Empty, result.Received);
    }

    [Fact]
    public async Task Handshake_NoClientCertificate_RefusedWithNothingWritten()
    {
        ProbeResult result = await TlsProbe.ConnectAsync(shared.X509Port, clientSvid: null, shared.Agent);

        Assert.Equal(string.Empty, result.Received);
    }

    [Fact]
    public async Task Handshake_AfterRefusals_StillServesValidClients()
    {
        using X509Svid foreign = shared.Agent.ForeignCa.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/intruder"));
        using X509Svid client = shared.Agent.ClientSvid("again");

        await TlsProbe.ConnectAsync(shared.X509Port, foreign, shared.Agent);
        ProbeResult result = await TlsProbe.ConnectAsync(shared.X509Port, client, shared.Agent);

        Assert.Equal("spiffe://example.org/again\n", result.Received);
    }
}

/// <summary>Tests that change the agent's X.509 state get their own agent and harness process.</summary>
[Collection(HarnessProcesses.Name)]
public sealed class X509PortStateTests
{
    private static readonly TimeSpan s_logTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Handshake_AfterRotationPushed_PresentsNewSerialWithoutRestart()
    {
        await using ConformanceAgent agent = await ConformanceAgent.StartAsync();
        await using HarnessProcess harness = HarnessProcess.Start(agent.Address);
        int port = ProtocolLine.Port(await harness.WaitForReadyAsync(), "SPIFFE_X509_PORT");
        using X509Svid client = agent.ClientSvid();
        ProbeResult before = await TlsProbe.ConnectAsync(port, client, agent);

        string rotated = agent.ServeHarnessSvid();
        // The SDK logs each accepted update with the leaf serial: the event that the new SVID is in force.
        await harness.WaitForStderrAsync(l => l.Contains("serial " + rotated, StringComparison.Ordinal), s_logTimeout);
        ProbeResult after = await TlsProbe.ConnectAsync(port, client, agent);

        Assert.Equal("spiffe://example.org/client\n", after.Received);
        Assert.NotEqual(before.ServerCertificate!.SerialNumber, after.ServerCertificate!.SerialNumber);
        Assert.Equal(rotated, after.ServerCertificate.SerialNumber);
    }

    [Fact]
    public async Task Handshake_AfterAgentWithdrewSvid_Fails()
    {
        await using ConformanceAgent agent = await ConformanceAgent.StartAsync();
        await using HarnessProcess harness = HarnessProcess.Start(agent.Address);
        int port = ProtocolLine.Port(await harness.WaitForReadyAsync(), "SPIFFE_X509_PORT");
        using X509Svid client = agent.ClientSvid();
        Assert.Equal("spiffe://example.org/client\n", (await TlsProbe.ConnectAsync(port, client, agent)).Received);

        agent.Server.SetNoIdentity();
        await harness.WaitForStderrAsync(
            l => l.Contains("X509Source", StringComparison.Ordinal) && l.Contains("denied this workload an identity", StringComparison.Ordinal),
            s_logTimeout);
        ProbeResult result = await TlsProbe.ConnectAsync(port, client, agent);

        Assert.False(result.HandshakeCompleted);
        Assert.Equal(string.Empty, result.Received);
    }
}

using System.Security.Authentication;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>TLS with a real X509Source: what the Workload API pushes applies to the next handshake (rule 42).</summary>
public sealed class X509SourceTlsTests
{
    private static readonly SpiffeId s_partnerClient = SpiffeId.Parse("spiffe://partner.org/client");

    [Fact]
    public async Task ServerOnX509Source_SvidPushed_NextHandshakePresentsNewSerial()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid a = agent.Svid(TestAgent.Web);
        agent.Serve(a);
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        using X509Svid clientSvid = agent.Ca.CreateX509Svid(TestAgent.Db);
        using X509Bundle clientBundle = agent.Ca.CreateX509Bundle();
        var server = SpiffeTlsServer.MutualTls(source, source, SpiffeIdAuthorizer.Exact(TestAgent.Db));
        var client = SpiffeTlsClient.MutualTls(new MutableSvidSource(clientSvid), clientBundle, SpiffeIdAuthorizer.Exact(TestAgent.Web));

        TlsOutcome first = await TlsLoopback.ConnectAsync(server, client);
        string firstSerial = source.GetX509Svid().Certificate.GetSerialNumberString();
        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Serve(agent.Svid(TestAgent.Web));
        await next;
        TlsOutcome second = await TlsLoopback.ConnectAsync(server, client);

        Assert.True(first.Succeeded, first.ToString());
        Assert.True(second.Succeeded, second.ToString());
        Assert.Equal(firstSerial, first.Client.PeerSerial);
        Assert.Equal(source.GetX509Svid().Certificate.GetSerialNumberString(), second.Client.PeerSerial);
        Assert.NotEqual(first.Client.PeerSerial, second.Client.PeerSerial);
        Assert.Equal(TestAgent.Db, second.Server.PeerId);
    }

    [Fact]
    public async Task GetX509BundleSet_SameInstanceUntilAnUpdate_ThenTheNewBundles()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid a = agent.Svid(TestAgent.Web);
        agent.Serve(a);
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        X509BundleSet first = source.GetX509BundleSet();

        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Server.SetX509Svids([a], new Dictionary<string, byte[]> { ["spiffe://partner.org"] = agent.PartnerBundleDer });
        await next;

        Assert.Equal(TestAgent.Domain, Assert.Single(first).TrustDomain);
        Assert.NotSame(first, source.GetX509BundleSet());
        Assert.Same(source.GetX509BundleSet(), source.GetX509BundleSet());
        Assert.Equal(2, source.GetX509BundleSet().Count);
    }

    [Fact]
    public async Task ServerOnX509Source_FederatedBundleWithdrawn_PartnerRefusedOnNextHandshake()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        WorkloadApiX509Svid a = agent.Svid(TestAgent.Web);
        agent.Server.SetX509Svids([a], new Dictionary<string, byte[]> { ["spiffe://partner.org"] = agent.PartnerBundleDer });
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        using X509Svid partnerSvid = agent.PartnerCa.CreateX509Svid(s_partnerClient);
        using X509Bundle localBundle = agent.Ca.CreateX509Bundle();
        var server = SpiffeTlsServer.MutualTls(source, source, SpiffeIdAuthorizer.MemberOf(TestAgent.Partner));
        var partner = SpiffeTlsClient.MutualTls(new MutableSvidSource(partnerSvid), localBundle, SpiffeIdAuthorizer.Exact(TestAgent.Web));

        TlsOutcome federated = await TlsLoopback.ConnectAsync(server, partner);
        Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
        agent.Server.SetX509Svids([a]);
        await next;
        TlsOutcome withdrawn = await TlsLoopback.ConnectAsync(server, partner);

        Assert.True(federated.Succeeded, federated.ToString());
        Assert.Equal(s_partnerClient, federated.Server.PeerId);
        Assert.IsType<AuthenticationException>(withdrawn.Server.Error);
    }
}

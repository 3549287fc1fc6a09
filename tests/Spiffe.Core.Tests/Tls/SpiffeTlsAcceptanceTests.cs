using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Core.Tests.Tls;

/// <summary>
/// Issue 8 points 3 and 5 at the SslStream level: a peer is accepted only with the certificates it
/// presented in this handshake (never with intermediates this side learned earlier), and every
/// refusal is counted and logged with its reason.
/// </summary>
public sealed class SpiffeTlsAcceptanceTests : IDisposable
{
    private static readonly TrustDomain s_local = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");
    private static readonly SpiffeId s_otherClientId = SpiffeId.Parse("spiffe://example.org/other");

    private readonly List<IDisposable> _owned = [];
    private readonly TestCertificateAuthority _ca;

    public SpiffeTlsAcceptanceTests()
    {
        _ca = Own(TestCertificateAuthority.Create(s_local, new() { WithIntermediate = true }));
    }

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
    }

    [Fact]
    public async Task LeafOnlyClient_RefusedOnFirstContactAndAfterServerSawItsIntermediate()
    {
        // The server's own SVID chains through the same intermediate, and a second client presents
        // it in full: neither may complete the leaf-only client's chain.
        MutableBundleSource bundles = new(Own(_ca.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Any(), new SpiffeTlsOptions { AllowTlsResume = false });
        var leafOnly = SpiffeTlsClient.MutualTls(new MutableSvidSource(LeafOnly(Own(_ca.CreateX509Svid(s_clientId)))), bundles, SpiffeIdAuthorizer.Any());
        var complete = SpiffeTlsClient.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_otherClientId))), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome firstContact = await TlsLoopback.ConnectAsync(server, leafOnly);
        TlsOutcome other = await TlsLoopback.ConnectAsync(server, complete);
        TlsOutcome again = await TlsLoopback.ConnectAsync(server, leafOnly);

        Assert.IsType<AuthenticationException>(firstContact.Server.Error);
        Assert.True(other.Succeeded, $"{other.Server.Error} / {other.Client.Error}");
        Assert.Equal(s_otherClientId, other.Server.PeerId);
        Assert.IsType<AuthenticationException>(again.Server.Error);
    }

    // A full handshake in which the client sends the leaf alone, after that same leaf was validated
    // in full on an earlier connection. .NET does not say whether a handshake resumed, and a resumed
    // session shows only the leaf, so a server that allows resumption must accept it (the leaf was
    // validated against these very bundles); one that does not allow resumption has no reason to.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LeafOnlyClient_AfterItsLeafWasValidatedInFull_AcceptedOnlyWhenTheServerAllowsResumption(bool serverAllowsResume)
    {
        MutableBundleSource bundles = new(Own(_ca.CreateX509Bundle()));
        X509Svid clientSvid = Own(_ca.CreateX509Svid(s_clientId));
        var noResume = new SpiffeTlsOptions { AllowTlsResume = false };
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Any(), new SpiffeTlsOptions { AllowTlsResume = serverAllowsResume });
        var complete = SpiffeTlsClient.MutualTls(new MutableSvidSource(clientSvid), bundles, SpiffeIdAuthorizer.Any(), noResume);
        var leafOnly = SpiffeTlsClient.MutualTls(new MutableSvidSource(LeafOnly(clientSvid)), bundles, SpiffeIdAuthorizer.Any(), noResume);

        TlsOutcome full = await TlsLoopback.ConnectAsync(server, complete);
        TlsOutcome later = await TlsLoopback.ConnectAsync(server, leafOnly);

        Assert.True(full.Succeeded, $"{full.Server.Error} / {full.Client.Error}");
        if (serverAllowsResume)
        {
            Assert.True(later.Succeeded, $"{later.Server.Error} / {later.Client.Error}");
            Assert.Equal(s_clientId, later.Server.PeerId);
        }
        else
        {
            Assert.IsType<AuthenticationException>(later.Server.Error);
        }
    }

    [Fact]
    public async Task LeafOnlyServer_RefusedByClientThatPresentsTheSameIntermediate()
    {
        MutableBundleSource bundles = new(Own(_ca.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(LeafOnly(Own(_ca.CreateX509Svid(s_serverId)))), bundles, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_clientId))), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome first = await TlsLoopback.ConnectAsync(server, client);
        TlsOutcome second = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(first.Client.Error);
        Assert.IsType<AuthenticationException>(second.Client.Error);
    }

    [Fact]
    public async Task LeafOnlyClient_ServerRefusal_CountedAndLoggedAsUntrustedChainWithTheId()
    {
        using var meterFactory = new TestMeterFactory();
        using var collector = new MetricCollector<long>(meterFactory, "Spiffe.Core", "spiffe.tls.handshakes");
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        var options = new SpiffeTlsOptions { LoggerFactory = loggerFactory, MeterFactory = meterFactory, AllowTlsResume = false };
        MutableBundleSource bundles = new(Own(_ca.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Any(), options);
        var leafOnly = SpiffeTlsClient.MutualTls(new MutableSvidSource(LeafOnly(Own(_ca.CreateX509Svid(s_clientId)))), bundles, SpiffeIdAuthorizer.Any());
        var complete = SpiffeTlsClient.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_otherClientId))), bundles, SpiffeIdAuthorizer.Any());

        await TlsLoopback.ConnectAsync(server, leafOnly);
        await TlsLoopback.ConnectAsync(server, complete);

        FakeLogRecord refusal = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 300);
        Assert.Equal(LogLevel.Warning, refusal.Level);
        Assert.Contains("untrusted_chain", refusal.Message, StringComparison.Ordinal);
        Assert.Contains(s_clientId.ToString(), refusal.Message, StringComparison.Ordinal);
        IReadOnlyList<CollectedMeasurement<long>> measurements = collector.GetMeasurementSnapshot();
        Assert.Single(measurements, m => Tag(m, "result") == "refused" && Tag(m, "reason") == "untrusted_chain" && Tag(m, "role") == "server");
        Assert.Single(measurements, m => Tag(m, "result") == "accepted" && Tag(m, "role") == "server");
    }

    [Fact]
    public async Task PeerRefused_CalledOncePerRefusalWithItsFacts_NotForAcceptedPeers()
    {
        var refusals = new System.Collections.Concurrent.ConcurrentQueue<TlsPeerRefusal>();
        var options = new SpiffeTlsOptions { PeerRefused = refusals.Enqueue, AllowTlsResume = false };
        MutableBundleSource bundles = new(Own(_ca.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Exact(s_otherClientId), options);
        var refused = SpiffeTlsClient.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_clientId))), bundles, SpiffeIdAuthorizer.Any());
        var accepted = SpiffeTlsClient.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_otherClientId))), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome refusedOutcome = await TlsLoopback.ConnectAsync(server, refused);
        TlsOutcome acceptedOutcome = await TlsLoopback.ConnectAsync(server, accepted);

        Assert.NotNull(refusedOutcome.Server.Error);
        Assert.True(acceptedOutcome.Succeeded);
        TlsPeerRefusal refusal = Assert.Single(refusals);
        Assert.Equal("server", refusal.Role);
        Assert.Equal("not_authorized", refusal.Reason);
        Assert.Equal(s_clientId, refusal.PresentedId);
        Assert.DoesNotContain("BEGIN", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PeerRefused_CallbackThrows_LoggedAndRefusalStands()
    {
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        var options = new SpiffeTlsOptions { LoggerFactory = loggerFactory, PeerRefused = _ => throw new InvalidOperationException("observer down"), AllowTlsResume = false };
        MutableBundleSource bundles = new(Own(_ca.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Exact(s_otherClientId), options);
        var client = SpiffeTlsClient.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_clientId))), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
        Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 300);
        FakeLogRecord failed = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 302);
        Assert.IsType<InvalidOperationException>(failed.Exception);
    }

    [Fact]
    public async Task ServerRefusesClient_ClientGetsNoApplicationData()
    {
        // What a refused client observes on this platform (docs/telemetry.md "What a refused peer
        // sees"): .NET 10 on Linux validates after OpenSSL finished the handshake and sends no TLS
        // alert, so the client's handshake may complete and its first read then ends the stream;
        // where the runtime sends an alert, the client's handshake or read fails with it. Either
        // way it never receives data.
        MutableBundleSource bundles = new(Own(_ca.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_serverId))), bundles, SpiffeIdAuthorizer.Exact(s_otherClientId));
        var client = SpiffeTlsClient.MutualTls(new MutableSvidSource(Own(_ca.CreateX509Svid(s_clientId))), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
        Assert.True(outcome.Client.Error is IOException or AuthenticationException, outcome.Client.Error?.ToString() ?? "the client received data");
    }

    private static string? Tag(CollectedMeasurement<long> measurement, string name) =>
        measurement.Tags.TryGetValue(name, out object? value) ? value as string : null;

    // The same leaf and key without the intermediate: what a misconfigured peer sends.
    private X509Svid LeafOnly(X509Svid svid)
    {
        byte[] key = svid.ExportPkcs8PrivateKey();
        return Own(X509Svid.Parse(svid.Certificate.RawData, key));
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}

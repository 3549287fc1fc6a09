using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Core.Tests.Tls;

/// <summary>
/// A handshake may start with the chain policy of a bundle set the source releases (disposes) before
/// the peer's certificate arrives: X509Source releases a superseded state one update later, which
/// under fast rotations (the soak, benchmarks/Spiffe.Soak, at a rotation every 500 ms) happened
/// mid-handshake and failed it with "A null or disposed certificate was present in CustomTrustStore".
/// </summary>
public sealed class SpiffeTlsBundleReleaseTests : IDisposable
{
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");

    private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
    private readonly X509Svid _serverSvid;
    private readonly X509Svid _clientSvid;

    public SpiffeTlsBundleReleaseTests()
    {
        _serverSvid = _ca.CreateX509Svid(s_serverId);
        _clientSvid = _ca.CreateX509Svid(s_clientId);
    }

    public void Dispose()
    {
        _serverSvid.Dispose();
        _clientSvid.Dispose();
        _ca.Dispose();
    }

    [Fact]
    public async Task Handshake_OptionsTakenBeforeTheirBundleSetWasReleased_BothSidesStillAuthenticate()
    {
        X509Bundle first = _ca.CreateX509Bundle();
        var bundles = new MutableBundleSource(first);
        SpiffeTlsServer server = SpiffeTlsServer.MutualTls(new MutableSvidSource(_serverSvid), bundles, SpiffeIdAuthorizer.Exact(s_clientId));
        SpiffeTlsClient client = SpiffeTlsClient.MutualTls(new MutableSvidSource(_clientSvid), bundles, SpiffeIdAuthorizer.Exact(s_serverId));
        System.Net.Security.SslServerAuthenticationOptions serverOptions = server.GetOptions();
        System.Net.Security.SslClientAuthenticationOptions clientOptions = client.GetOptions("localhost");

        // An update (same roots, new instances), then the release of the state it replaced.
        bundles.Bundles = new X509BundleSet([_ca.CreateX509Bundle()]);
        first.Dispose();

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(
            (ssl, ct) => ssl.AuthenticateAsServerAsync(serverOptions, ct),
            (ssl, ct) => ssl.AuthenticateAsClientAsync(clientOptions, ct));

        Assert.True(outcome.Succeeded, $"server: {outcome.Server.Error?.Message}; client: {outcome.Client.Error?.Message}");
        Assert.Equal(s_clientId, outcome.Server.PeerId);
        Assert.Equal(s_serverId, outcome.Client.PeerId);
    }

    [Fact]
    public async Task Handshake_OptionsTakenBeforeTheRootWasRemoved_PeerStillRefusedByTheCurrentBundle()
    {
        // The copies keep an old policy usable, not an old trust decision: the callback checks the
        // anchor against the bundle the source has now.
        var bundles = new MutableBundleSource(_ca.CreateX509Bundle());
        SpiffeTlsServer server = SpiffeTlsServer.MutualTls(new MutableSvidSource(_serverSvid), bundles, SpiffeIdAuthorizer.Exact(s_clientId));
        SpiffeTlsClient client = SpiffeTlsClient.MutualTls(new MutableSvidSource(_clientSvid), new MutableBundleSource(_ca.CreateX509Bundle()), SpiffeIdAuthorizer.Exact(s_serverId));
        System.Net.Security.SslServerAuthenticationOptions serverOptions = server.GetOptions();
        System.Net.Security.SslClientAuthenticationOptions clientOptions = client.GetOptions("localhost");

        using var otherCa = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        bundles.Bundles = new X509BundleSet([otherCa.CreateX509Bundle()]);

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(
            (ssl, ct) => ssl.AuthenticateAsServerAsync(serverOptions, ct),
            (ssl, ct) => ssl.AuthenticateAsClientAsync(clientOptions, ct));

        Assert.False(outcome.Succeeded);
        Assert.Null(outcome.Server.PeerId);
    }
}

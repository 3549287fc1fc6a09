using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Core.Tests.Tls;

public sealed class SpiffeTlsTests : IDisposable
{
    private static readonly TrustDomain s_local = TrustDomain.Parse("example.org");
    private static readonly TrustDomain s_partner = TrustDomain.Parse("partner.org");
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");
    private static readonly SpiffeId s_partnerId = SpiffeId.Parse("spiffe://partner.org/frontend");

    private readonly List<IDisposable> _owned = [];
    private readonly TestCertificateAuthority _localCa;
    private readonly TestCertificateAuthority _partnerCa;

    public SpiffeTlsTests()
    {
        // The local CA signs through an intermediate while bundles hold only its root, so every
        // successful handshake here also proves the intermediate was sent (rule 36).
        _localCa = Own(TestCertificateAuthority.Create(s_local, new() { WithIntermediate = true }));
        _partnerCa = Own(TestCertificateAuthority.Create(s_partner));
    }

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
    }

    [Fact]
    public async Task MutualTls_BothSidesAuthorized_ExchangeSpiffeIdsOverTls12OrLater()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Exact(s_clientId));
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId));

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.True(outcome.Succeeded, Describe(outcome));
        Assert.Equal(s_clientId, outcome.Server.PeerId);
        Assert.Equal(s_serverId, outcome.Client.PeerId);
        Assert.True(outcome.Server.Protocol >= SslProtocols.Tls12);
    }

    [Fact]
    public async Task MutualTls_IntermediateSent_PeerTrustingOnlyTheRootValidatesAThreeCertificateChain()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        Assert.Single(bundles.Bundles.GetX509Bundle(s_local)!.X509Authorities);
        int chainLength = 0;
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(
            (ssl, ct) => ssl.AuthenticateAsServerAsync(server.OptionsSelectionCallback, null, ct),
            (ssl, ct) =>
            {
                SslClientAuthenticationOptions options = client.GetOptions("localhost");
                RemoteCertificateValidationCallback inner = options.RemoteCertificateValidationCallback!;
                options.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                {
                    chainLength = chain!.ChainElements.Count;
                    return inner(sender, certificate, chain, errors);
                };
                return ssl.AuthenticateAsClientAsync(options, ct);
            });

        Assert.True(outcome.Succeeded, Describe(outcome));
        Assert.Equal(3, chainLength);
    }

    [Fact]
    public async Task MutualTls_ServerAuthorizerRefusesClientId_ConnectionFailsOnBothSides()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/admin")));
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId));

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
        Assert.NotNull(outcome.Client.Error);
    }

    [Fact]
    public async Task MutualTls_ClientAuthorizerRefusesServerId_ClientHandshakeFails()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/other")));

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(outcome.Client.Error);
        Assert.NotNull(outcome.Server.Error);
    }

    [Fact]
    public async Task MutualTls_FederatedPeerWithItsBundle_AcceptedInBothRoles()
    {
        // Rule 40: the partner's bundle authenticates partner SVIDs, as client and as server.
        MutableBundleSource localView = new(Own(_localCa.CreateX509Bundle()), Own(_partnerCa.CreateX509Bundle()));
        MutableBundleSource partnerView = new(Own(_localCa.CreateX509Bundle()), Own(_partnerCa.CreateX509Bundle()));
        var localServer = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), localView, SpiffeIdAuthorizer.MemberOf(s_partner));
        var partnerClient = SpiffeTlsClient.MutualTls(Svid(_partnerCa, s_partnerId), partnerView, SpiffeIdAuthorizer.Exact(s_serverId));
        var partnerServer = SpiffeTlsServer.MutualTls(Svid(_partnerCa, SpiffeId.Parse("spiffe://partner.org/api")), partnerView, SpiffeIdAuthorizer.MemberOf(s_local));
        var localClient = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), localView, SpiffeIdAuthorizer.MemberOf(s_partner));

        TlsOutcome partnerCallsLocal = await TlsLoopback.ConnectAsync(localServer, partnerClient);
        TlsOutcome localCallsPartner = await TlsLoopback.ConnectAsync(partnerServer, localClient);

        Assert.True(partnerCallsLocal.Succeeded, Describe(partnerCallsLocal));
        Assert.Equal(s_partnerId, partnerCallsLocal.Server.PeerId);
        Assert.True(localCallsPartner.Succeeded, Describe(localCallsPartner));
        Assert.Equal(SpiffeId.Parse("spiffe://partner.org/api"), localCallsPartner.Client.PeerId);
    }

    [Fact]
    public async Task MutualTls_PartnerIdSignedByLocalCa_Refused()
    {
        // Rule 39: with both bundles trusted, a partner.org ID anchored in example.org's root is not a partner SVID.
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()), Own(_partnerCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Any());
        var forged = SpiffeTlsClient.MutualTls(Svid(_localCa, s_partnerId), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, forged);

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
        Assert.NotNull(outcome.Client.Error);
    }

    [Fact]
    public async Task MutualTls_ServerIdSignedByPartnerCa_RefusedByClient()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()), Own(_partnerCa.CreateX509Bundle()));
        var forgedServer = SpiffeTlsServer.MutualTls(Svid(_partnerCa, s_serverId), bundles, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(forgedServer, client);

        Assert.IsType<AuthenticationException>(outcome.Client.Error);
    }

    [Fact]
    public async Task MutualTls_NoBundleForPeerTrustDomain_Refused()
    {
        // Rule 38: the server trusts only example.org, so a partner.org client is untrusted.
        MutableBundleSource serverView = new(Own(_localCa.CreateX509Bundle()));
        MutableBundleSource partnerView = new(Own(_localCa.CreateX509Bundle()), Own(_partnerCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), serverView, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(_partnerCa, s_partnerId), partnerView, SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
        Assert.NotNull(outcome.Client.Error);
    }

    [Fact]
    public async Task MutualTls_CaRemovedFromBundle_ItsPeersRefusedOnNextHandshake()
    {
        // Rule 42: two CAs of example.org; the client's CA leaves the bundle between two connections.
        using var secondCa = TestCertificateAuthority.Create(s_local);
        MutableBundleSource serverView = new(Own(new X509Bundle(s_local, [Copy(_localCa.RootCertificate), Copy(secondCa.RootCertificate)])));
        MutableBundleSource clientView = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), serverView, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(secondCa, s_clientId), clientView, SpiffeIdAuthorizer.Any());

        TlsOutcome before = await TlsLoopback.ConnectAsync(server, client);
        serverView.Bundles = new X509BundleSet([Own(_localCa.CreateX509Bundle())]);
        TlsOutcome after = await TlsLoopback.ConnectAsync(server, client);

        Assert.True(before.Succeeded, Describe(before));
        Assert.IsType<AuthenticationException>(after.Server.Error);
    }

    [Fact]
    public async Task MutualTls_BundleChangesInPlaceOfSameSet_AnchorCheckedAgainstCurrentBundle()
    {
        // The chain policy is cached per set instance; the anchor check reads the current bundle,
        // so a source that changes what GetX509Bundle returns is honoured even for a stale policy.
        using var secondCa = TestCertificateAuthority.Create(s_local);
        X509Bundle both = Own(new X509Bundle(s_local, [Copy(_localCa.RootCertificate), Copy(secondCa.RootCertificate)]));
        X509Bundle firstOnly = Own(_localCa.CreateX509Bundle());
        var serverView = new SplitBundleSource(new X509BundleSet([both]), firstOnly);
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), serverView, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(secondCa, s_clientId), new MutableBundleSource(Own(_localCa.CreateX509Bundle())), SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
    }

    [Fact]
    public async Task MutualTls_SvidRotatedInSource_NextHandshakePresentsNewSerialOnBothSides()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        MutableSvidSource serverSvids = Svid(_localCa, s_serverId);
        MutableSvidSource clientSvids = Svid(_localCa, s_clientId);
        var server = SpiffeTlsServer.MutualTls(serverSvids, bundles, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(clientSvids, bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome first = await TlsLoopback.ConnectAsync(server, client);
        serverSvids.Svid = Own(_localCa.CreateX509Svid(s_serverId));
        clientSvids.Svid = Own(_localCa.CreateX509Svid(s_clientId));
        TlsOutcome second = await TlsLoopback.ConnectAsync(server, client);

        Assert.True(first.Succeeded, Describe(first));
        Assert.True(second.Succeeded, Describe(second));
        Assert.Equal(serverSvids.Svid.Certificate.GetSerialNumberString(), second.Client.PeerSerial);
        Assert.Equal(clientSvids.Svid.Certificate.GetSerialNumberString(), second.Server.PeerSerial);
        Assert.NotEqual(first.Client.PeerSerial, second.Client.PeerSerial);
        Assert.NotEqual(first.Server.PeerSerial, second.Server.PeerSerial);
    }

    [Fact]
    public void GetOptions_SameSvidAndBundles_ReusesContextAndPolicy_RebuildsOnChange()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        MutableSvidSource svids = Svid(_localCa, s_serverId);
        var server = SpiffeTlsServer.MutualTls(svids, bundles, SpiffeIdAuthorizer.Any());

        SslServerAuthenticationOptions first = server.GetOptions();
        SslServerAuthenticationOptions again = server.GetOptions();
        svids.Svid = Own(_localCa.CreateX509Svid(s_serverId));
        bundles.Bundles = new X509BundleSet([Own(_localCa.CreateX509Bundle())]);
        SslServerAuthenticationOptions rotated = server.GetOptions();

        Assert.NotSame(first, again);
        Assert.Same(first.ServerCertificateContext, again.ServerCertificateContext);
        Assert.Same(first.CertificateChainPolicy, again.CertificateChainPolicy);
        Assert.NotSame(first.ServerCertificateContext, rotated.ServerCertificateContext);
        Assert.NotSame(first.CertificateChainPolicy, rotated.CertificateChainPolicy);
        Assert.Equal(X509ChainTrustMode.CustomRootTrust, rotated.CertificateChainPolicy!.TrustMode);
        Assert.Equal(X509RevocationMode.NoCheck, rotated.CertificateChainPolicy.RevocationMode);
        Assert.True(rotated.CertificateChainPolicy.DisableCertificateDownloads);
        Assert.True(rotated.ClientCertificateRequired);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, rotated.EnabledSslProtocols);
    }

    [Fact]
    public async Task MutualTls_SharedChainPolicy_NotModifiedByHandshakes_NeverHoldsIntermediates()
    {
        // One policy object serves every handshake of a bundle set, so SslStream must not add to it,
        // and nothing (own SVID, earlier peers) may put intermediates into it (issue 8 point 3).
        using var clientCa = TestCertificateAuthority.Create(s_local, new() { WithIntermediate = true });
        MutableBundleSource bundles = new(Own(new X509Bundle(s_local, [X509CertificateLoader.LoadCertificate(_localCa.RootCertificate.RawData), X509CertificateLoader.LoadCertificate(clientCa.RootCertificate.RawData)])));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(clientCa, s_clientId), bundles, SpiffeIdAuthorizer.Any());
        X509ChainPolicy before = server.GetOptions().CertificateChainPolicy!;

        TlsOutcome first = await TlsLoopback.ConnectAsync(server, client);
        TlsOutcome second = await TlsLoopback.ConnectAsync(server, client);

        Assert.True(first.Succeeded, Describe(first));
        Assert.True(second.Succeeded, Describe(second));
        Assert.Same(before, server.GetOptions().CertificateChainPolicy);
        Assert.Empty(before.ExtraStore);
        Assert.Equal(2, before.CustomTrustStore.Count);
    }

    [Fact]
    public async Task MutualTls_PeerSharesOwnIntermediate_PolicyNeverRebuilt()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Any());
        X509ChainPolicy serverBefore = server.GetOptions().CertificateChainPolicy!;
        X509ChainPolicy clientBefore = client.GetOptions("localhost").CertificateChainPolicy!;

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.True(outcome.Succeeded, Describe(outcome));
        Assert.Same(serverBefore, server.GetOptions().CertificateChainPolicy);
        Assert.Same(clientBefore, client.GetOptions("localhost").CertificateChainPolicy);
    }

    [Fact]
    public async Task MutualTls_ResumptionAllowed_PeersWithIntermediatesKeepConnecting()
    {
        // A resumed session gives the callback the peer's leaf without its intermediates; that exact
        // leaf was validated in full (with its intermediates) against the same bundles, so it passes.
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var resume = new SpiffeTlsOptions { AllowTlsResume = true };
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Exact(s_clientId), resume);
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId), resume);

        for (int i = 0; i < 4; i++)
        {
            TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);
            Assert.True(outcome.Succeeded, $"connection {i}: {Describe(outcome)}");
            Assert.Equal(s_clientId, outcome.Server.PeerId);
        }
    }

    [Fact]
    public async Task AllowTlsResumeFalse_ReachesSslStream_EveryConnectionRunsFullValidation()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        int serverChecks = 0, clientChecks = 0;
        var noResume = new SpiffeTlsOptions { AllowTlsResume = false };
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, Counting(() => Interlocked.Increment(ref serverChecks)), noResume);
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, Counting(() => Interlocked.Increment(ref clientChecks)), noResume);

        for (int i = 0; i < 3; i++)
        {
            TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);
            Assert.True(outcome.Succeeded, Describe(outcome));
        }

        Assert.False(server.GetOptions().AllowTlsResume);
        Assert.False(client.GetOptions("localhost").AllowTlsResume);
        Assert.Equal(OperatingSystem.IsLinux(), SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Any()).GetOptions().AllowTlsResume);
        Assert.Equal(3, Volatile.Read(ref serverChecks));
        Assert.Equal(3, Volatile.Read(ref clientChecks));
    }

    [Fact]
    public async Task ServerBeforeFirstSvid_HandshakeFailsCleanly()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(), bundles, SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<SpiffeException>(outcome.Server.Error);
        Assert.NotNull(outcome.Client.Error);
        Assert.Throws<SpiffeException>(() => server.GetOptions());
    }

    [Fact]
    public void ClientBeforeFirstSvid_GetOptionsThrows()
    {
        var client = SpiffeTlsClient.MutualTls(new MutableSvidSource(), new MutableBundleSource(), SpiffeIdAuthorizer.Any());

        Assert.Throws<SpiffeException>(() => client.GetOptions("localhost"));
    }

    [Fact]
    public async Task ServerAuthenticatedTls_ClientPresentsNoCertificate_ClientAuthenticatesServerId()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.Tls(Svid(_localCa, s_serverId));
        var client = SpiffeTlsClient.Tls(bundles, SpiffeIdAuthorizer.Exact(s_serverId));

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.True(outcome.Succeeded, Describe(outcome));
        Assert.Equal(s_serverId, outcome.Client.PeerId);
        Assert.False(outcome.Server.PeerCertificatePresented);
        Assert.Null(outcome.Server.PeerId);
        Assert.False(server.GetOptions().ClientCertificateRequired);
    }

    [Fact]
    public async Task ServerAuthenticatedTls_ServerFromUntrustedCa_Refused()
    {
        using var rogue = TestCertificateAuthority.Create(s_local);
        var server = SpiffeTlsServer.Tls(Svid(rogue, s_serverId));
        var client = SpiffeTlsClient.Tls(new MutableBundleSource(Own(_localCa.CreateX509Bundle())), SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(outcome.Client.Error);
    }

    [Fact]
    public async Task WebServerMutualTls_ClientPresentsSvid_ClientValidatesWebCertificateByHostName()
    {
        using X509Certificate2 web = CreateWebCertificate("localhost");
        var webTrust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        webTrust.CustomTrustStore.Add(web);
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTlsWithWebCertificate(SslStreamCertificateContext.Create(web, null, offline: true), bundles, SpiffeIdAuthorizer.Exact(s_clientId));
        var client = SpiffeTlsClient.MutualTlsToWebServer(Svid(_localCa, s_clientId), webTrust);

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);
        TlsOutcome wrongName = await TlsLoopback.ConnectAsync(server, client, targetHost: "backend.example");

        Assert.True(outcome.Succeeded, Describe(outcome));
        Assert.Equal(s_clientId, outcome.Server.PeerId);
        Assert.Null(outcome.Client.PeerId);
        Assert.IsType<AuthenticationException>(wrongName.Client.Error);
    }

    [Fact]
    public async Task WebServerMutualTls_ClientSvidNotAuthorized_Refused()
    {
        using X509Certificate2 web = CreateWebCertificate("localhost");
        var webTrust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        webTrust.CustomTrustStore.Add(web);
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTlsWithWebCertificate(SslStreamCertificateContext.Create(web, null, offline: true), bundles, SpiffeIdAuthorizer.Deny());
        var client = SpiffeTlsClient.MutualTlsToWebServer(Svid(_localCa, s_clientId), webTrust);

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
    }

    [Fact]
    public async Task MutualTls_PeerCertificateBreaksSvidRules_Refused()
    {
        // A certificate chained to the trusted root but with no URI SAN is not an X509-SVID (rule 21).
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        var server = SpiffeTlsServer.MutualTls(Svid(_localCa, s_serverId), bundles, SpiffeIdAuthorizer.Any());
        TestX509SvidMaterial material = _localCa.CreateX509SvidMaterial(s_clientId, new TestX509SvidOptions { UriSans = [], DnsNames = ["frontend"] });
        X509Certificate2[] certificates = material.LoadCertificates();
        using var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(material.PrivateKeyPkcs8, out _);
        using X509Certificate2 leaf = certificates[0].CopyWithPrivateKey(key);
        foreach (X509Certificate2 certificate in certificates)
        {
            _owned.Add(certificate);
        }

        var context = SslStreamCertificateContext.Create(leaf, [.. certificates[1..]], offline: true);
        var verifyServer = SpiffeTlsClient.Tls(bundles, SpiffeIdAuthorizer.Any()).GetOptions("localhost");

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(
            (ssl, ct) => ssl.AuthenticateAsServerAsync(server.OptionsSelectionCallback, null, ct),
            (ssl, ct) =>
            {
                verifyServer.ClientCertificateContext = context;
                return ssl.AuthenticateAsClientAsync(verifyServer, ct);
            });

        Assert.IsType<AuthenticationException>(outcome.Server.Error);
    }

    [Fact]
    public void Factories_NullAuthorizer_ThrowArgumentNullException()
    {
        MutableSvidSource svids = Svid(_localCa, s_serverId);
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        using X509Certificate2 web = CreateWebCertificate("localhost");
        var webContext = SslStreamCertificateContext.Create(web, null, offline: true);

        Assert.Throws<ArgumentNullException>("authorizer", () => SpiffeTlsServer.MutualTls(svids, bundles, null!));
        Assert.Throws<ArgumentNullException>("authorizer", () => SpiffeTlsServer.MutualTlsWithWebCertificate(webContext, bundles, null!));
        Assert.Throws<ArgumentNullException>("authorizer", () => SpiffeTlsClient.MutualTls(svids, bundles, null!));
        Assert.Throws<ArgumentNullException>("authorizer", () => SpiffeTlsClient.Tls(bundles, null!));
    }

    [Theory]
    [InlineData(SslProtocols.None)]
#pragma warning disable CS0618, SYSLIB0039, CA5397 // Obsolete protocols are exactly what must be refused.
    [InlineData(SslProtocols.Tls11 | SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls)]
#pragma warning restore CS0618, SYSLIB0039, CA5397
    public void Factories_ProtocolsBelowTls12_ThrowArgumentException(SslProtocols protocols)
    {
        var options = new SpiffeTlsOptions { EnabledSslProtocols = protocols };

        Assert.Throws<ArgumentException>("options", () => SpiffeTlsServer.Tls(Svid(_localCa, s_serverId), options));
        Assert.Throws<ArgumentException>("options", () => SpiffeTlsClient.Tls(new MutableBundleSource(), SpiffeIdAuthorizer.Any(), options));
    }

    [Fact]
    public void TryGetRemoteSpiffeId_NotAuthenticated_ReturnsFalseAndGetThrows()
    {
        using var ssl = new SslStream(new MemoryStream());

        Assert.False(ssl.TryGetRemoteSpiffeId(out SpiffeId? id));
        Assert.Null(id);
        Assert.Throws<InvalidOperationException>(() => ssl.GetRemoteSpiffeId());
    }

    private static SpiffeIdAuthorizer Counting(Action onCheck) =>
        SpiffeIdAuthorizer.Matching(
            _ =>
            {
                onCheck();
                return true;
            },
            "any ID, counted");

    private static X509Certificate2 Copy(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawDataMemory.Span);

    private static X509Certificate2 CreateWebCertificate(string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    private static string Describe(TlsOutcome outcome) =>
        $"server: {outcome.Server.Error?.ToString() ?? "ok"}\nclient: {outcome.Client.Error?.ToString() ?? "ok"}";

    [Fact]
    public async Task OptionsSelectionCallback_RebuildsOptionsOnlyWhenSvidOrBundlesChange()
    {
        MutableBundleSource bundles = new(Own(_localCa.CreateX509Bundle()));
        MutableSvidSource svids = Svid(_localCa, s_serverId);
        var server = SpiffeTlsServer.MutualTls(svids, bundles, SpiffeIdAuthorizer.Exact(s_clientId));
        async Task<SslServerAuthenticationOptions> NextAsync() => await server.OptionsSelectionCallback(null!, default, null, CancellationToken.None);

        SslServerAuthenticationOptions first = await NextAsync();
        Assert.Same(first, await NextAsync());

        svids.Svid = Own(_localCa.CreateX509Svid(s_serverId));
        SslServerAuthenticationOptions afterRotation = await NextAsync();
        Assert.NotSame(first, afterRotation);
        Assert.NotSame(first.ServerCertificateContext, afterRotation.ServerCertificateContext);
        Assert.Same(first.CertificateChainPolicy, afterRotation.CertificateChainPolicy);
        Assert.Same(afterRotation, await NextAsync());

        bundles.Bundles = new X509BundleSet([Own(_localCa.CreateX509Bundle())]);
        SslServerAuthenticationOptions afterBundles = await NextAsync();
        Assert.NotSame(afterRotation, afterBundles);
        Assert.Same(afterRotation.ServerCertificateContext, afterBundles.ServerCertificateContext);
        Assert.NotSame(afterRotation.CertificateChainPolicy, afterBundles.CertificateChainPolicy);

        // GetOptions is for callers that modify the options (Kestrel adds ALPN): a new object each time.
        Assert.NotSame(server.GetOptions(), server.GetOptions());
        Assert.Same(afterBundles.ServerCertificateContext, server.GetOptions().ServerCertificateContext);

        // And the shared options still make a working handshake.
        var client = SpiffeTlsClient.MutualTls(Svid(_localCa, s_clientId), bundles, SpiffeIdAuthorizer.Exact(s_serverId));
        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);
        Assert.True(outcome.Succeeded, Describe(outcome));
    }

    private MutableSvidSource Svid(TestCertificateAuthority ca, SpiffeId id) => new(Own(ca.CreateX509Svid(id)));

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>A source whose set (for the chain policy) and per-trust-domain answer (for the anchor check) disagree.</summary>
    private sealed class SplitBundleSource(X509BundleSet set, X509Bundle current) : IX509BundleSetSource
    {
        public X509BundleSet GetX509BundleSet() => set;

        public X509Bundle? GetX509Bundle(TrustDomain trustDomain) => current.GetX509Bundle(trustDomain);
    }
}

using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Tls;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Core.Tests.X509;

/// <summary>
/// Rule 35 (X509-SVID §4.2): signing certificates MAY carry URI name constraints. The SDK
/// processes them through the platform's RFC 5280 path validation: a leaf inside the permitted
/// subtree is accepted, one outside it is rejected.
/// </summary>
public sealed class NameConstraintsTests
{
    private static readonly SpiffeId s_id = SpiffeId.Parse("spiffe://example.org/workload");

    [Fact]
    public void Validate_LeafInsidePermittedUriSubtree_Accepts()
    {
        using var ca = TestCertificateAuthority.Create(s_id.TrustDomain, new() { WithIntermediate = true, IntermediatePermittedUriHosts = ["example.org"] });
        using X509Bundle bundle = ca.CreateX509Bundle();
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(s_id);

        X509SvidValidationResult result = new X509SvidValidator(bundle).Validate(material.ChainDer);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(s_id, result.SpiffeId);
    }

    [Theory]
    [InlineData("other.org")]
    [InlineData(".example.org")] // subdomains only: the trust domain itself is outside
    public void Validate_LeafOutsidePermittedUriSubtree_RejectsAsUntrustedChain(string permittedHost)
    {
        using var ca = TestCertificateAuthority.Create(s_id.TrustDomain, new() { WithIntermediate = true, IntermediatePermittedUriHosts = [permittedHost] });
        using X509Bundle bundle = ca.CreateX509Bundle();
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(s_id);

        X509SvidValidationResult result = new X509SvidValidator(bundle).Validate(material.ChainDer);

        Assert.False(result.IsValid);
        Assert.Equal(X509SvidErrorKind.UntrustedChain, result.ErrorKind);
    }

    [Theory]
    [InlineData("example.org", true)]
    [InlineData("other.org", false)]
    public async Task MutualTls_ClientUnderNameConstrainedIntermediate_AcceptedOnlyInsideSubtree(string permittedHost, bool accepted)
    {
        using var serverCa = TestCertificateAuthority.Create(s_id.TrustDomain);
        using var clientCa = TestCertificateAuthority.Create(s_id.TrustDomain, new() { WithIntermediate = true, IntermediatePermittedUriHosts = [permittedHost] });
        using X509Bundle serverRoot = serverCa.CreateX509Bundle();
        using X509Bundle clientRoot = clientCa.CreateX509Bundle();
        using X509Svid serverSvid = serverCa.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/server"));
        using X509Svid clientSvid = clientCa.CreateX509Svid(s_id);
        var server = SpiffeTlsServer.MutualTls(new MutableSvidSource(serverSvid), new MutableBundleSource(clientRoot), SpiffeIdAuthorizer.Any());
        var client = SpiffeTlsClient.MutualTls(new MutableSvidSource(clientSvid), new MutableBundleSource(serverRoot), SpiffeIdAuthorizer.Any());

        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.Equal(accepted, outcome.Succeeded);
        Assert.Equal(accepted ? s_id : null, outcome.Server.PeerId);
    }
}

using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Core.Tests.X509;

/// <summary>
/// <c>knownCertificates</c> on <see cref="X509Svid.Parse"/> and <see cref="X509Bundle.FromDer"/>:
/// byte-identical certificates are shared instead of decoded again, and nothing else changes —
/// every rule still runs, the result owns its certificates, and a certificate with a key is
/// never handed out.
/// </summary>
public sealed class KnownCertificatesTests
{
    private static readonly TrustDomain s_td = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_id = SpiffeId.Parse("spiffe://example.org/web");

    [Fact]
    public void Parse_KnownIntermediate_SvidOwnsItsCopyAfterKnownIsDisposed()
    {
        using var ca = TestCertificateAuthority.Create(s_td, new() { WithIntermediate = true });
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(s_id);
        using X509Bundle bundle = ca.CreateX509Bundle();
        X509Certificate2 known = X509CertificateLoader.LoadCertificate(ca.IntermediateCertificate!.RawData);

        using X509Svid svid = X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8, null, [known]);
        known.Dispose();

        X509Certificate2 intermediate = Assert.Single(svid.Intermediates);
        Assert.NotSame(known, intermediate);
        Assert.Equal(ca.IntermediateCertificate.RawData, intermediate.RawData);
        Assert.Equal(material.ChainDer, svid.ToDer());
        X509SvidValidationResult result = new X509SvidValidator(bundle, cacheSize: 0).Validate(svid.Chain);
        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public void Parse_KnownIntermediate_DisposingSvidLeavesKnownUsable()
    {
        using var ca = TestCertificateAuthority.Create(s_td, new() { WithIntermediate = true });
        using X509Certificate2 known = X509CertificateLoader.LoadCertificate(ca.IntermediateCertificate!.RawData);
        TestX509SvidMaterial first = ca.CreateX509SvidMaterial(s_id);
        TestX509SvidMaterial second = ca.CreateX509SvidMaterial(s_id);

        X509Svid.Parse(first.ChainDer, first.PrivateKeyPkcs8, null, [known]).Dispose();
        using X509Svid rotated = X509Svid.Parse(second.ChainDer, second.PrivateKeyPkcs8, null, [known]);

        Assert.Equal(ca.IntermediateCertificate.RawData, known.RawData);
        Assert.Equal(known.Subject, rotated.Intermediates[0].Subject);
        Assert.Equal(second.ChainDer, rotated.ToDer());
    }

    [Fact]
    public void Parse_KnownLeafWithPrivateKey_IsNotReusedAndKeyComesFromInput()
    {
        using var ca = TestCertificateAuthority.Create(s_td);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(s_id);
        using X509Svid previous = X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8);

        // The same leaf again (an agent re-sending the SVID): the known copy carries a key, so it
        // must not become the template, or CopyWithPrivateKey would refuse the second key.
        using X509Svid again = X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8, null, [previous.Certificate]);

        Assert.True(again.Certificate.HasPrivateKey);
        Assert.NotSame(previous.Certificate, again.Certificate);
        Assert.Equal(material.PrivateKeyPkcs8, again.ExportPkcs8PrivateKey());
    }

    [Fact]
    public void Parse_KnownIntermediateThatIsNotCa_StillRejectedWithSameMessage()
    {
        using var ca = TestCertificateAuthority.Create(s_td, new() { WithIntermediate = true, IntermediateIsCertificateAuthority = false });
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(s_id);
        using X509Certificate2 known = X509CertificateLoader.LoadCertificate(ca.IntermediateCertificate!.RawData);

        X509SvidException fresh = Assert.Throws<X509SvidException>(() => X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8));
        X509SvidException reused = Assert.Throws<X509SvidException>(() => X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8, null, [known]));

        Assert.Equal(X509SvidErrorKind.SigningCertificate, reused.ErrorKind);
        Assert.Equal(fresh.Message, reused.Message);
    }

    [Fact]
    public void Parse_KnownCertificateWithOtherBytes_LoadsFromInput()
    {
        using var ca = TestCertificateAuthority.Create(s_td, new() { WithIntermediate = true });
        using var other = TestCertificateAuthority.Create(s_td, new() { WithIntermediate = true });
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(s_id);
        using X509Certificate2 unrelated = X509CertificateLoader.LoadCertificate(other.IntermediateCertificate!.RawData);

        using X509Svid svid = X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8, null, [unrelated]);

        Assert.Equal(material.ChainDer, svid.ToDer());
        Assert.Equal(ca.IntermediateCertificate!.RawData, svid.Intermediates[0].RawData);
    }

    [Fact]
    public void FromDer_KnownAuthorities_BundleOwnsCopiesThatStillAnchorChains()
    {
        using var ca = TestCertificateAuthority.Create(s_td, new() { WithIntermediate = true });
        using var second = TestCertificateAuthority.Create(s_td);
        byte[] der = [.. ca.RootCertificate.RawData, .. second.RootCertificate.RawData];
        X509Bundle previous = X509Bundle.FromDer(s_td, der);

        // Only the first authority is known: the second is decoded from the input.
        using X509Bundle next = X509Bundle.FromDer(s_td, der, [previous.X509Authorities[0]]);
        X509Certificate2 firstBefore = previous.X509Authorities[0];
        previous.Dispose();

        Assert.NotSame(firstBefore, next.X509Authorities[0]);
        Assert.Equal(der, next.ToDer());
        using X509Svid svid = ca.CreateX509Svid(s_id);
        X509SvidValidationResult result = new X509SvidValidator(next, cacheSize: 0).Validate(svid.Chain);
        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public void FromDer_KnownCertificates_MalformedInputStillThrowsFormatException()
    {
        using var ca = TestCertificateAuthority.Create(s_td);
        byte[] der = [.. ca.RootCertificate.RawData, 0x30, 0x82, 0x01];

        FormatException fresh = Assert.Throws<FormatException>(() => X509Bundle.FromDer(s_td, der));
        FormatException reused = Assert.Throws<FormatException>(() => X509Bundle.FromDer(s_td, der, [ca.RootCertificate]));

        Assert.Equal(fresh.Message, reused.Message);
    }
}

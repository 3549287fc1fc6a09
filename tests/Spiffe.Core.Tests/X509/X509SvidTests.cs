using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.Core.Tests.X509;

public sealed class X509SvidTests
{
    public static TheoryData<string, X509SvidErrorKind> LeafCases => SvidCases.All;

    [Theory]
    [MemberData(nameof(LeafCases))]
    public void Parse_LeafRuleCase_AcceptsOrRejectsWithKind(string caseName, X509SvidErrorKind expected)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id, SvidCases.Options(caseName));

        if (expected == X509SvidErrorKind.None)
        {
            using X509Svid svid = X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8);
            Assert.False(svid.Id.IsTrustDomainId);
            Assert.True(svid.Certificate.HasPrivateKey);
        }
        else
        {
            X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8));
            Assert.Equal(expected, e.ErrorKind);
            Assert.Contains("X509-SVID §", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(TestKeyType.EcdsaP256, 256)]
    [InlineData(TestKeyType.EcdsaP384, 384)]
    [InlineData(TestKeyType.EcdsaP521, 521)]
    [InlineData(TestKeyType.Rsa2048, 2048)]
    public void Parse_SupportedKeyType_LoadsLeafWithUsablePrivateKey(TestKeyType keyType, int keySize)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { KeyType = keyType });
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id, new() { KeyType = keyType });

        using X509Svid svid = X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8);

        Assert.Equal(SvidCases.Id, svid.Id);
        Assert.True(svid.Certificate.HasPrivateKey);
        byte[] data = [1, 2, 3];
        if (keyType == TestKeyType.Rsa2048)
        {
            using RSA key = svid.Certificate.GetRSAPrivateKey()!;
            using RSA pub = svid.Certificate.GetRSAPublicKey()!;
            Assert.Equal(keySize, key.KeySize);
            Assert.True(pub.VerifyData(data, key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        }
        else
        {
            using ECDsa key = svid.Certificate.GetECDsaPrivateKey()!;
            using ECDsa pub = svid.Certificate.GetECDsaPublicKey()!;
            Assert.Equal(keySize, key.KeySize);
            Assert.True(pub.VerifyData(data, key.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
        }
    }

    [Theory]
    [InlineData(TestKeyType.EcdsaP256)]
    [InlineData(TestKeyType.Rsa2048)]
    public void Parse_KeyNotMatchingLeaf_ThrowsPrivateKeyWithoutKeyMaterial(TestKeyType keyType)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id, new() { KeyType = keyType, WrongPrivateKey = true });

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8));

        Assert.Equal(X509SvidErrorKind.PrivateKey, e.ErrorKind);
        Assert.Contains("does not match", e.Message, StringComparison.Ordinal);
        AssertNoKeyMaterial(e.ToString(), material.PrivateKeyPkcs8);
    }

    [Theory]
    [InlineData("ec key for rsa leaf", TestKeyType.Rsa2048, TestKeyType.EcdsaP256)]
    [InlineData("rsa key for ec leaf", TestKeyType.EcdsaP256, TestKeyType.Rsa2048)]
    [InlineData("p384 key for p256 leaf", TestKeyType.EcdsaP256, TestKeyType.EcdsaP384)]
    public void Parse_KeyOfOtherType_ThrowsPrivateKey(string scenario, TestKeyType leafType, TestKeyType keyType)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        TestX509SvidMaterial leaf = ca.CreateX509SvidMaterial(SvidCases.Id, new() { KeyType = leafType });
        TestX509SvidMaterial other = ca.CreateX509SvidMaterial(SvidCases.Id, new() { KeyType = keyType });

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.Parse(leaf.ChainDer, other.PrivateKeyPkcs8));

        Assert.True(e.ErrorKind == X509SvidErrorKind.PrivateKey, scenario);
        AssertNoKeyMaterial(e.ToString(), other.PrivateKeyPkcs8);
    }

    [Theory]
    [InlineData("empty chain", 0)]
    [InlineData("garbage chain", 1)]
    [InlineData("truncated chain", 2)]
    public void Parse_MalformedChain_ThrowsMalformed(string scenario, int variant)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id);
        byte[] chain = variant switch
        {
            0 => [],
            1 => [0x01, 0x02, 0x03],
            _ => material.ChainDer[..^10],
        };

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.Parse(chain, material.PrivateKeyPkcs8));

        Assert.True(e.ErrorKind == X509SvidErrorKind.Malformed, scenario);
    }

    [Fact]
    public void Parse_GarbageKey_ThrowsPrivateKey()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id);

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.Parse(material.ChainDer, [0x30, 0x03, 0x02, 0x01, 0x00]));

        Assert.Equal(X509SvidErrorKind.PrivateKey, e.ErrorKind);
    }

    [Fact]
    public void Parse_LeafAndIntermediateConcatenated_LoadsBothInOrder()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id);

        using X509Svid svid = X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8, "internal");

        Assert.Equal(2, svid.Chain.Count);
        Assert.Single(svid.Intermediates);
        Assert.Same(svid.Certificate, svid.Chain[0]);
        Assert.Equal(material.LeafDer.ToArray(), svid.Certificate.RawData);
        Assert.Equal(ca.IntermediateCertificate!.RawData, svid.Intermediates[0].RawData);
        Assert.Equal("internal", svid.Hint);
        Assert.Equal(material.ChainDer, svid.ToDer());
    }

    [Theory]
    [InlineData("R31 intermediate with cA=false", false, X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)]
    [InlineData("R31 intermediate without keyCertSign", true, X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.CrlSign)]
    public void Parse_IntermediateNotACertificateAuthority_ThrowsSigningCertificate(string rule, bool isCa, X509KeyUsageFlags usage)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true, IntermediateIsCertificateAuthority = isCa, IntermediateKeyUsage = usage });
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(SvidCases.Id);

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.Parse(material.ChainDer, material.PrivateKeyPkcs8));

        Assert.True(e.ErrorKind == X509SvidErrorKind.SigningCertificate, rule);
    }

    [Fact]
    public void Parse_IntermediateIsCertificateAuthority_Accepts()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });

        using X509Svid svid = ca.CreateX509Svid(SvidCases.Id);

        Assert.Single(svid.Intermediates);
    }

    [Fact]
    public void ExpiresAt_Always_IsLeafNotAfter()
    {
        var notAfter = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { NotAfter = notAfter.AddDays(10) });

        using X509Svid svid = ca.CreateX509Svid(SvidCases.Id, new() { NotAfter = notAfter });

        Assert.Equal(notAfter, svid.ExpiresAt);
        Assert.Equal(TimeSpan.Zero, svid.ExpiresAt.Offset);
    }

    [Theory]
    [InlineData(TestKeyType.EcdsaP256, false)]
    [InlineData(TestKeyType.Rsa2048, false)]
    [InlineData(TestKeyType.EcdsaP384, true)]
    public void ToPem_FromPem_RoundTrips(TestKeyType keyType, bool withIntermediate)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = withIntermediate });
        using X509Svid original = ca.CreateX509Svid(SvidCases.Id, new() { KeyType = keyType });

        string certificates = original.ToPem();
        string privateKey = original.ExportPrivateKeyPem();
        using X509Svid copy = X509Svid.FromPem(certificates, privateKey);

        Assert.StartsWith("-----BEGIN CERTIFICATE-----", certificates, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", certificates, StringComparison.Ordinal); // the key only when asked for by name
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", privateKey, StringComparison.Ordinal);
        Assert.Equal(original.Id, copy.Id);
        Assert.Equal(original.ToDer(), copy.ToDer());
        Assert.Equal(original.ExportPkcs8PrivateKey(), copy.ExportPkcs8PrivateKey());
    }

    [Theory]
    [InlineData("EC PRIVATE KEY", TestKeyType.EcdsaP256)]
    [InlineData("RSA PRIVATE KEY", TestKeyType.Rsa2048)]
    public void FromPem_LegacyKeyLabel_Accepts(string label, TestKeyType keyType)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Svid original = ca.CreateX509Svid(SvidCases.Id, new() { KeyType = keyType });
        string certificates = original.ToPem();
        byte[] legacy;
        if (keyType == TestKeyType.Rsa2048)
        {
            using RSA key = original.Certificate.GetRSAPrivateKey()!;
            legacy = key.ExportRSAPrivateKey();
        }
        else
        {
            using ECDsa key = original.Certificate.GetECDsaPrivateKey()!;
            legacy = key.ExportECPrivateKey();
        }

        using X509Svid copy = X509Svid.FromPem(certificates, PemEncoding.Write(label, legacy));

        Assert.Equal(original.ExportPkcs8PrivateKey(), copy.ExportPkcs8PrivateKey());
    }

    [Theory]
    [InlineData("public key block", "PUBLIC KEY")]
    [InlineData("encrypted key block", "ENCRYPTED PRIVATE KEY")]
    [InlineData("no block", null)]
    public void FromPem_NotAPrivateKeyBlock_ThrowsPrivateKey(string scenario, string? label)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Svid original = ca.CreateX509Svid(SvidCases.Id);
        string certificates = original.ToPem();
        string keyPem = label is null ? "not pem" : new string(PemEncoding.Write(label, [0x30, 0x00]));

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.FromPem(certificates, keyPem));

        Assert.True(e.ErrorKind == X509SvidErrorKind.PrivateKey, scenario);
    }

    [Fact]
    public void FromPem_KeyBlockInCertificates_ThrowsMalformed()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Svid original = ca.CreateX509Svid(SvidCases.Id);
        string certificates = original.ToPem();
        string privateKey = original.ExportPrivateKeyPem();

        X509SvidException e = Assert.Throws<X509SvidException>(() => X509Svid.FromPem(privateKey + certificates, privateKey));

        Assert.Equal(X509SvidErrorKind.Malformed, e.ErrorKind);
        AssertNoKeyMaterial(e.ToString(), original.ExportPkcs8PrivateKey());
    }

    [Theory]
    [InlineData(TestKeyType.EcdsaP256)]
    [InlineData(TestKeyType.Rsa2048)]
    public void ToString_Always_ShowsIdSerialExpiryAndNoKey(TestKeyType keyType)
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain);
        using X509Svid svid = ca.CreateX509Svid(SvidCases.Id, new() { KeyType = keyType });

        string text = svid.ToString();

        Assert.Contains(SvidCases.DefaultId, text, StringComparison.Ordinal);
        Assert.Contains(svid.Certificate.SerialNumber, text, StringComparison.Ordinal);
        Assert.Contains(svid.ExpiresAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        AssertNoKeyMaterial(text, svid.ExportPkcs8PrivateKey());
        Assert.DoesNotContain("PRIVATE", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Dispose_Always_ReleasesCertificates()
    {
        using var ca = TestCertificateAuthority.Create(SvidCases.TrustDomain, new() { WithIntermediate = true });
        X509Svid svid = ca.CreateX509Svid(SvidCases.Id);

        svid.Dispose();

        Assert.Throws<CryptographicException>(() => svid.Certificate.GetECDsaPrivateKey());
    }

    /// <summary>Asserts that neither the key's base64 nor a long run of it appears in <paramref name="text"/>.</summary>
    internal static void AssertNoKeyMaterial(string text, byte[] pkcs8)
    {
        string base64 = Convert.ToBase64String(pkcs8);
        Assert.DoesNotContain(base64, text, StringComparison.Ordinal);
        for (int i = 0; i + 24 <= base64.Length; i += 24)
        {
            Assert.DoesNotContain(base64.Substring(i, 24), text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(Convert.ToHexString(pkcs8)[64..128], text, StringComparison.OrdinalIgnoreCase);
    }
}

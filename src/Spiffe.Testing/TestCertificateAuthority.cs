using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.Testing;

/// <summary>
/// An in-memory certificate authority for one trust domain that mints X509-SVIDs for tests: valid
/// ones by default, and deliberately broken ones through <see cref="TestX509SvidOptions"/>.
/// Nothing is written to disk.
/// </summary>
/// <remarks>
/// <code>
/// using var ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
/// using X509Bundle bundle = ca.CreateX509Bundle();
/// using X509Svid svid = ca.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/web"));
/// TestX509SvidMaterial twoUris = ca.CreateX509SvidMaterial(svid.Id, new TestX509SvidOptions { UriSans = ["spiffe://example.org/a", "spiffe://example.org/b"] });
/// </code>
/// Broken material: a CA leaf (<see cref="TestX509SvidOptions.CertificateAuthority"/>), several or
/// no URI SANs (<see cref="TestX509SvidOptions.UriSans"/>), a key that does not match
/// (<see cref="TestX509SvidOptions.WrongPrivateKey"/>), expired or not yet valid
/// (<see cref="TestX509SvidOptions.NotBefore"/>, <see cref="TestX509SvidOptions.NotAfter"/>), and
/// "signed by another CA" by minting from a second authority, possibly of the same trust domain.
/// Not thread-safe; create one per test or guard it.
/// </remarks>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly AsymmetricAlgorithm _rootKey;
    private readonly AsymmetricAlgorithm? _intermediateKey;
    private readonly TestKeyType _keyType;

    private TestCertificateAuthority(TrustDomain trustDomain, TimeProvider timeProvider, TestKeyType keyType, X509Certificate2 root, AsymmetricAlgorithm rootKey, X509Certificate2? intermediate, AsymmetricAlgorithm? intermediateKey)
    {
        TrustDomain = trustDomain;
        TimeProvider = timeProvider;
        _keyType = keyType;
        RootCertificate = root;
        _rootKey = rootKey;
        IntermediateCertificate = intermediate;
        _intermediateKey = intermediateKey;
    }

    /// <summary>The trust domain this authority issues for.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The clock that defines "now" for default validity periods.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The self-signed root certificate (without its private key).</summary>
    public X509Certificate2 RootCertificate { get; }

    /// <summary>The intermediate CA certificate, when the authority was created with one.</summary>
    public X509Certificate2? IntermediateCertificate { get; }

    /// <summary>Creates an authority with a fresh root key (and intermediate, if asked).</summary>
    public static TestCertificateAuthority Create(TrustDomain trustDomain, TestCertificateAuthorityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        options ??= new TestCertificateAuthorityOptions();
        TimeProvider clock = options.TimeProvider ?? TimeProvider.System;
        DateTimeOffset now = clock.GetUtcNow();
        DateTimeOffset notBefore = options.NotBefore ?? now.AddHours(-1);
        DateTimeOffset notAfter = options.NotAfter ?? now.AddYears(1);

        AsymmetricAlgorithm rootKey = CreateKey(options.KeyType);
        X509Certificate2? root = null;
        AsymmetricAlgorithm? intermediateKey = null;
        try
        {
            var rootName = new X500DistinguishedName($"CN=Test root CA, O={trustDomain.Name}");
            CertificateRequest rootRequest = CreateRequest(rootName, rootKey, options.KeyType);
            rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(
                true, options.RootPathLengthConstraint.HasValue, options.RootPathLengthConstraint ?? 0, true));
            rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
            rootRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(rootRequest.PublicKey, false));
            rootRequest.CertificateExtensions.Add(UriSanExtension([trustDomain.Id.ToString()], false));
            root = rootRequest.Create(rootName, Generator(rootKey), notBefore, notAfter, NewSerial());

            X509Certificate2? intermediate = null;
            if (options.WithIntermediate)
            {
                intermediateKey = CreateKey(options.KeyType);
                var name = new X500DistinguishedName($"CN=Test intermediate CA, O={trustDomain.Name}");
                CertificateRequest request = CreateRequest(name, intermediateKey, options.KeyType);
                request.CertificateExtensions.Add(new X509BasicConstraintsExtension(options.IntermediateIsCertificateAuthority, false, 0, true));
                request.CertificateExtensions.Add(new X509KeyUsageExtension(options.IntermediateKeyUsage, true));
                request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
                request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));
                IReadOnlyList<string> uris = options.IntermediateUriSans ?? [trustDomain.Id.ToString()];
                if (uris.Count > 0)
                {
                    request.CertificateExtensions.Add(UriSanExtension(uris, false));
                }

                if (options.IntermediatePermittedUriHosts is { } permitted)
                {
                    request.CertificateExtensions.Add(PermittedUriNameConstraints(permitted));
                }

                intermediate = request.Create(root.SubjectName, Generator(rootKey), notBefore, options.IntermediateNotAfter ?? notAfter, NewSerial());
            }

            return new TestCertificateAuthority(trustDomain, clock, options.KeyType, root, rootKey, intermediate, intermediateKey);
        }
        catch
        {
            rootKey.Dispose();
            intermediateKey?.Dispose();
            root?.Dispose();
            throw;
        }
    }

    /// <summary>A new bundle of this trust domain holding a copy of the root; the caller owns (disposes) it.</summary>
    public X509Bundle CreateX509Bundle() =>
        new(TrustDomain, [X509CertificateLoader.LoadCertificate(RootCertificate.RawDataMemory.Span)]);

    /// <summary>Mints an X509-SVID and parses it with <see cref="X509Svid.Parse"/>; the caller disposes it.</summary>
    /// <exception cref="X509SvidException">The options describe material that is not a valid SVID (use <see cref="CreateX509SvidMaterial"/> for that).</exception>
    public X509Svid CreateX509Svid(SpiffeId id, TestX509SvidOptions? options = null, string? hint = null) =>
        CreateX509SvidMaterial(id, options).ToX509Svid(hint);

    /// <summary>Mints an X509-SVID as raw DER chain and PKCS#8 key, as broken as the options say.</summary>
    public TestX509SvidMaterial CreateX509SvidMaterial(SpiffeId id, TestX509SvidOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        options ??= new TestX509SvidOptions();
        // NotBefore is back-dated a minute for clock skew; the lifetime counts from now, so a
        // short TimeToLive (seconds, for rotation tests and demos) is still valid when minted.
        DateTimeOffset now = TimeProvider.GetUtcNow();
        DateTimeOffset notBefore = options.NotBefore ?? now.AddMinutes(-1);
        DateTimeOffset notAfter = options.NotAfter ?? (options.NotBefore is { } explicitStart ? explicitStart : now) + options.TimeToLive;

        bool viaIntermediate = IntermediateCertificate is not null && options.SignWithIntermediate;
        X509Certificate2 issuer = viaIntermediate ? IntermediateCertificate! : RootCertificate;
        AsymmetricAlgorithm issuerKey = viaIntermediate ? _intermediateKey! : _rootKey;

        using AsymmetricAlgorithm key = CreateKey(options.KeyType);
        var subject = new X500DistinguishedName(options.Subject);
        CertificateRequest request = CreateRequest(subject, key, options.KeyType);
        if (options.IncludeBasicConstraints)
        {
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(options.CertificateAuthority, false, 0, true));
        }

        if (options.KeyUsage is X509KeyUsageFlags usage)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, options.KeyUsageCritical));
        }

        if (options.ExtendedKeyUsages.Count > 0)
        {
            var purposes = new OidCollection();
            foreach (string oid in options.ExtendedKeyUsages)
            {
                purposes.Add(new Oid(oid));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(purposes, options.ExtendedKeyUsageCritical));
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));

        IReadOnlyList<string> uris = options.UriSans ?? [id.ToString()];
        if (uris.Count + options.DnsNames.Count + options.IPAddresses.Count + options.EmailAddresses.Count > 0)
        {
            bool critical = options.SubjectAlternativeNameCritical ?? subject.RawData.Length <= 2;
            request.CertificateExtensions.Add(SanExtension(uris, options, critical));
        }

        foreach (X509Extension extension in options.AdditionalExtensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        using X509Certificate2 leaf = request.Create(issuer.SubjectName, Generator(issuerKey), notBefore, notAfter, NewSerial());

        byte[] privateKey;
        if (options.WrongPrivateKey)
        {
            using AsymmetricAlgorithm other = CreateKey(options.KeyType);
            privateKey = other.ExportPkcs8PrivateKey();
        }
        else
        {
            privateKey = key.ExportPkcs8PrivateKey();
        }

        byte[][] chain = viaIntermediate && !options.OmitIntermediateFromChain
            ? [leaf.RawData, IntermediateCertificate!.RawData]
            : [leaf.RawData];
        return new TestX509SvidMaterial(chain, privateKey);
    }

    /// <summary>The trust domain, and whether there is an intermediate.</summary>
    public override string ToString() => $"TestCertificateAuthority({TrustDomain}, {_keyType}{(IntermediateCertificate is null ? string.Empty : ", with intermediate")})";

    /// <summary>Releases the CA certificates and keys.</summary>
    public void Dispose()
    {
        RootCertificate.Dispose();
        IntermediateCertificate?.Dispose();
        _rootKey.Dispose();
        _intermediateKey?.Dispose();
    }

    private static AsymmetricAlgorithm CreateKey(TestKeyType keyType) => keyType switch
    {
        TestKeyType.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        TestKeyType.EcdsaP384 => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        TestKeyType.EcdsaP521 => ECDsa.Create(ECCurve.NamedCurves.nistP521),
        TestKeyType.Rsa2048 => RSA.Create(2048),
        _ => throw new ArgumentOutOfRangeException(nameof(keyType), keyType, "Unknown key type."),
    };

    private static HashAlgorithmName HashFor(AsymmetricAlgorithm key) => key.KeySize switch
    {
        384 when key is ECDsa => HashAlgorithmName.SHA384,
        521 when key is ECDsa => HashAlgorithmName.SHA512,
        _ => HashAlgorithmName.SHA256,
    };

    private static CertificateRequest CreateRequest(X500DistinguishedName subject, AsymmetricAlgorithm key, TestKeyType keyType) => key switch
    {
        ECDsa ec => new CertificateRequest(subject, ec, HashFor(key)),
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentOutOfRangeException(nameof(keyType), keyType, "Unknown key type."),
    };

    private static X509SignatureGenerator Generator(AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentOutOfRangeException(nameof(key)),
    };

    private static byte[] NewSerial()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x3F) | 0x40); // positive, minimal DER INTEGER
        return serial;
    }

    // NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees }, each subtree a
    // SEQUENCE { base GeneralName } with base = uniformResourceIdentifier [6] IA5String (a host).
    private static X509Extension PermittedUriNameConstraints(IReadOnlyList<string> hosts)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                foreach (string host in hosts)
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteCharacterString(UniversalTagNumber.IA5String, host, new Asn1Tag(TagClass.ContextSpecific, 6));
                    }
                }
            }
        }

        return new X509Extension("2.5.29.30", writer.Encode(), critical: true);
    }

    private static X509Extension UriSanExtension(IReadOnlyList<string> uris, bool critical) =>
        SanExtension(uris, new TestX509SvidOptions(), critical);

    // Written by hand: SubjectAlternativeNameBuilder goes through System.Uri, which normalises
    // (lowercases hosts, unescapes), and tests need URI SANs exactly as given.
    private static X509Extension SanExtension(IReadOnlyList<string> uris, TestX509SvidOptions options, bool critical)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (string email in options.EmailAddresses)
            {
                writer.WriteOctetString(Encoding.ASCII.GetBytes(email), new Asn1Tag(TagClass.ContextSpecific, 1));
            }

            foreach (string dns in options.DnsNames)
            {
                writer.WriteOctetString(Encoding.ASCII.GetBytes(dns), new Asn1Tag(TagClass.ContextSpecific, 2));
            }

            foreach (string uri in uris)
            {
                writer.WriteOctetString(Encoding.UTF8.GetBytes(uri), new Asn1Tag(TagClass.ContextSpecific, 6));
            }

            foreach (System.Net.IPAddress address in options.IPAddresses)
            {
                writer.WriteOctetString(address.GetAddressBytes(), new Asn1Tag(TagClass.ContextSpecific, 7));
            }
        }

        return new X509Extension("2.5.29.17", writer.Encode(), critical);
    }
}

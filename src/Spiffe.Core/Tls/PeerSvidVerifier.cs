using System.Diagnostics.CodeAnalysis;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.Internal;
using Spiffe.X509;

namespace Spiffe.Tls;

/// <summary>
/// Authenticates a TLS peer's X509-SVID and authorizes its SPIFFE ID, building exactly one chain
/// per handshake: SslStream builds it with <see cref="GetChainPolicy"/> (every trusted authority,
/// no downloads, no revocation, and no intermediates but the ones the peer presented in this
/// handshake), and the callback then requires the anchor of that chain to belong to the bundle of
/// the peer's own trust domain (SPIFFE-RULES 38/39: a leaf of B anchored in A's root is refused,
/// bundles are never merged for trust). Building a second chain in the callback costs about 20% of
/// handshake throughput (issue 4).
/// </summary>
/// <remarks>
/// Acceptance never depends on history (ARCHITECTURE invariants; issue 8 point 3): the policy
/// holds no intermediate learned from this side's SVID or from earlier peers, so a peer that sends
/// only its leaf is refused on every handshake, as go-spiffe refuses it. A resumed TLS session
/// carries only the leaf (observed on Linux, .NET 10: SslStream runs the callback again, and the
/// chain ends in PartialChain); it is accepted only when <see cref="VerifiedLeafCache"/> holds that
/// exact leaf from a full validation against the bundle set in force now.
/// </remarks>
internal sealed class PeerSvidVerifier
{
    // Copying a bundle set a custom source releases meanwhile fails; a fresh read gets the newest set.
    // Bounded: a source that keeps doing that is broken.
    private const int CopyAttempts = 3;

    private readonly IX509BundleSetSource _bundleSource;
    private readonly SpiffeIdAuthorizer _authorizer;
    private readonly TlsHandshakeTelemetry _telemetry;
    private readonly VerifiedLeafCache? _verified;
    private volatile PolicySnapshot? _policy;

    /// <param name="bundleSource">The bundles peers are authenticated with.</param>
    /// <param name="authorizer">Which peer IDs are allowed.</param>
    /// <param name="telemetry">Where refusals are counted and logged.</param>
    /// <param name="allowTlsResume">
    /// Whether sessions may resume (<see cref="SpiffeTlsOptions.AllowTlsResume"/>). A resumed session
    /// gives the callback only the leaf, and .NET does not say whether a handshake resumed, so with
    /// resumption on a leaf-only chain is accepted when that exact leaf was validated in full earlier
    /// against the same bundles; with it off a leaf-only chain is always refused and nothing is remembered.
    /// </param>
    internal PeerSvidVerifier(IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, TlsHandshakeTelemetry telemetry, bool allowTlsResume)
    {
        _bundleSource = bundleSource;
        _authorizer = authorizer;
        _telemetry = telemetry;
        _verified = allowTlsResume ? new VerifiedLeafCache() : null;
        Callback = (sender, certificate, chain, errors) => Verify(certificate, chain, errors, null, out _, out _);
    }

    internal RemoteCertificateValidationCallback Callback { get; }

    /// <summary>Leaves remembered for resumed sessions (tests).</summary>
    internal int VerifiedLeafCount => _verified?.Count ?? 0;

    /// <summary>The chain policy for the current bundles, rebuilt only when the source returns a new set instance.</summary>
    internal X509ChainPolicy GetChainPolicy()
    {
        for (int attempt = 1; ; attempt++)
        {
            X509BundleSet bundles = _bundleSource.GetX509BundleSet();
            PolicySnapshot? snapshot = _policy;
            if (snapshot is not null && ReferenceEquals(snapshot.Bundles, bundles))
            {
                return snapshot.Policy;
            }

            try
            {
                X509ChainPolicy policy = CreatePolicy(bundles);
                _policy = new PolicySnapshot(bundles, policy);
                return policy;
            }
            catch (Exception e) when (e is ObjectDisposedException or CryptographicException && attempt < CopyAttempts && !ReferenceEquals(_bundleSource.GetX509BundleSet(), bundles))
            {
                // A custom source released this set while it was being copied (the SDK's sources
                // never release what they handed out): the next read gets the newest one.
            }
        }
    }

    private static X509ChainPolicy CreatePolicy(X509BundleSet bundles)
    {
        // DOTNET-NOTES §2.4 and pitfall 14 (dotnet/runtime#69833, #59979): custom roots only, nothing
        // fetched. The ExtraStore stays empty: SslStream adds what the peer sent, and nothing else may
        // complete a peer's chain.
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };

        // Copies (each shares the authority's native certificate), never disposed here: a custom
        // source may dispose a superseded bundle set while a handshake that took this policy (or a
        // SpiffeHttpHandler pool built on it) still builds chains with it, and X509Chain.Build throws
        // on a disposed certificate in CustomTrustStore (seen in benchmarks/Spiffe.Soak). The GC
        // releases the copies with the policy.
        foreach (X509Bundle bundle in bundles)
        {
            foreach (X509Certificate2 authority in bundle.X509Authorities)
            {
                policy.CustomTrustStore.Add(new X509Certificate2(authority));
            }
        }

        return policy;
    }

    /// <summary>The validation callback's decision: the peer's SPIFFE ID when it is allowed, else why it is refused (counted and logged here).</summary>
    /// <param name="certificate">The peer's leaf.</param>
    /// <param name="chain">The chain SslStream built with <see cref="GetChainPolicy"/> and the peer's certificates.</param>
    /// <param name="errors">SslStream's verdict.</param>
    /// <param name="peer">The peer's address or host for the log, when known.</param>
    /// <param name="id">The allowed peer's SPIFFE ID.</param>
    /// <param name="refusal">Why the peer is refused.</param>
    internal bool Verify(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, string? peer, [NotNullWhen(true)] out SpiffeId? id, [NotNullWhen(false)] out TlsRefusal? refusal)
    {
        refusal = Authenticate(certificate, chain, errors, out id, out bool fromEarlierValidation);
        if (refusal is null && !_authorizer.IsAuthorized(id!))
        {
            refusal = new TlsRefusal(TlsRefusalReason.NotAuthorized, id, "is not allowed by the authorizer");
        }

        if (refusal is not null)
        {
            id = null;
            _telemetry.Refused(refusal, peer);
            return false;
        }

        SpiffeId accepted = id!;
        _telemetry.Accepted(fromEarlierValidation, accepted, peer);
        id = accepted;
        return true;
    }

    private TlsRefusal? Authenticate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, out SpiffeId? id, out bool fromEarlierValidation)
    {
        id = null;
        fromEarlierValidation = false;
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return new TlsRefusal(TlsRefusalReason.NoCertificate, null, "no certificate presented");
        }

        ReadOnlySpan<byte> leafDer = certificate is X509Certificate2 leaf ? leaf.RawDataMemory.Span : certificate.GetRawCertData();
        if (!SvidLeafRules.TryCheckLeaf(leafDer, out SpiffeId? presented, out _, out _, out string? notSvid))
        {
            return new TlsRefusal(TlsRefusalReason.NotAnSvid, null, notSvid);
        }

        X509BundleSet bundles = _bundleSource.GetX509BundleSet();
        X509Bundle? bundle = _bundleSource.GetX509Bundle(presented.TrustDomain);
        if (bundle is null)
        {
            return new TlsRefusal(TlsRefusalReason.NoBundle, presented, $"is of trust domain {presented.TrustDomain}, for which no X.509 bundle is trusted");
        }

        if (chain is null)
        {
            return new TlsRefusal(TlsRefusalReason.UntrustedChain, presented, $"does not chain to the bundle of {presented.TrustDomain}: no chain was built");
        }

        // SslStream owns this chain and disposes its element certificates after the callback
        // returns, so they are read here and not disposed (DOTNET-NOTES §2.2, pitfall 13).
        X509ChainElementCollection elements = chain.ChainElements;

        // SVIDs carry no DNS name, so a client always sees a name mismatch (DOTNET-NOTES §2.9
        // pitfall 7); the SPIFFE ID is authorized instead. Every other error fails, except (with
        // resumption on) a leaf-only chain whose leaf was validated in full against these bundles:
        // that is all a resumed session shows, and .NET does not say whether the handshake resumed.
        if ((errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) != SslPolicyErrors.None)
        {
            if (_verified is not null && IsLeafOnly(chain, elements, leafDer) && _verified.WasValidated(leafDer, bundles, bundle, DateTime.UtcNow))
            {
                id = presented;
                fromEarlierValidation = true;
                return null;
            }

            return ChainRefusal(presented, chain);
        }

        if (elements.Count < 2 || !elements[0].Certificate.RawDataMemory.Span.SequenceEqual(leafDer))
        {
            return new TlsRefusal(TlsRefusalReason.UntrustedChain, presented, $"does not chain to the bundle of {presented.TrustDomain}: the chain does not start with the presented leaf");
        }

        // The anchor must be an authority of the peer's own trust domain, not of any trusted one.
        if (!bundle.Contains(elements[^1].Certificate))
        {
            return new TlsRefusal(TlsRefusalReason.UntrustedChain, presented, $"does not chain to the bundle of {presented.TrustDomain}: its chain ends in an authority of another trust domain");
        }

        // Everything between the leaf and the anchor signs certificates and must be a CA (X509-SVID §3.2, §4.1, §4.3).
        DateTime notBefore = DateTime.MinValue;
        DateTime notAfter = DateTime.MaxValue;
        for (int i = 0; i < elements.Count; i++)
        {
            X509Certificate2 element = elements[i].Certificate;
            if (i > 0 && i < elements.Count - 1 && !SvidLeafRules.TryCheckSigningCertificate(element.RawDataMemory.Span, i, out CertificateFields _, out string? error))
            {
                return new TlsRefusal(TlsRefusalReason.UntrustedChain, presented, $"does not chain to the bundle of {presented.TrustDomain}: {error}");
            }

            DateTime elementNotBefore = element.NotBefore.ToUniversalTime();
            DateTime elementNotAfter = element.NotAfter.ToUniversalTime();
            notBefore = elementNotBefore > notBefore ? elementNotBefore : notBefore;
            notAfter = elementNotAfter < notAfter ? elementNotAfter : notAfter;
        }

        _verified?.Remember(leafDer, bundles, bundle, notBefore, notAfter);
        id = presented;
        return null;
    }

    // What a resumed session looks like: SslStream has only the leaf, and the chain stops at it.
    private static bool IsLeafOnly(X509Chain chain, X509ChainElementCollection elements, ReadOnlySpan<byte> leafDer)
    {
        if (elements.Count != 1 || !elements[0].Certificate.RawDataMemory.Span.SequenceEqual(leafDer))
        {
            return false;
        }

        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            if ((status.Status & ~X509ChainStatusFlags.PartialChain) != X509ChainStatusFlags.NoError)
            {
                return false;
            }
        }

        return true;
    }

    private static TlsRefusal ChainRefusal(SpiffeId presented, X509Chain chain)
    {
        X509ChainStatusFlags flags = X509ChainStatusFlags.NoError;
        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            flags |= status.Status;
        }

        // Expired when that is the one problem, or when the leaf itself is out of its validity period
        // (a resumed session of an expired peer has a leaf-only, partial chain too); otherwise the
        // validity of an untrusted chain does not matter.
        bool leafTimeInvalid = false;
        if (chain.ChainElements.Count > 0)
        {
            foreach (X509ChainStatus status in chain.ChainElements[0].ChainElementStatus)
            {
                leafTimeInvalid |= (status.Status & X509ChainStatusFlags.NotTimeValid) != 0;
            }
        }

        TlsRefusalReason reason = flags == X509ChainStatusFlags.NotTimeValid || leafTimeInvalid ? TlsRefusalReason.Expired : TlsRefusalReason.UntrustedChain;
        string detail = reason == TlsRefusalReason.Expired
            ? $"has a certificate in its chain that is expired or not yet valid ({flags})"
            : $"does not chain to the bundle of {presented.TrustDomain} with the certificates presented ({flags})";
        return new TlsRefusal(reason, presented, detail);
    }

    private sealed record PolicySnapshot(X509BundleSet Bundles, X509ChainPolicy Policy);
}

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
/// no downloads, no revocation), and the callback then requires the anchor of that chain to belong
/// to the bundle of the peer's own trust domain (SPIFFE-RULES 38/39: a leaf of B anchored in A's
/// root is refused, bundles are never merged for trust). Building a second chain in the callback
/// costs about 20% of handshake throughput (issue 4).
/// </summary>
internal sealed class PeerSvidVerifier
{
    /// <summary>How many distinct peer intermediates are remembered for resumed sessions.</summary>
    internal const int MaxKnownIntermediates = 32;

    // Copying a bundle set the source releases meanwhile fails; a fresh read gets the newest set.
    // Bounded: a source that keeps doing that is broken.
    private const int CopyAttempts = 3;

    private readonly IX509BundleSetSource _bundleSource;
    private readonly SpiffeIdAuthorizer _authorizer;
    private readonly IX509SvidSource? _ownSvids;
    private X509Svid? _lastOwnSvid;
    private readonly Lock _intermediatesLock = new();
    private volatile PolicySnapshot? _policy;

    // Intermediates of peers that passed a full validation, oldest first; replaced whole on change.
    private volatile X509Certificate2[] _knownIntermediates = [];

    /// <param name="bundleSource">The bundles peers are authenticated with.</param>
    /// <param name="authorizer">Which peer IDs are allowed.</param>
    /// <param name="ownSvids">
    /// This side's own SVIDs, whose intermediates are known from the start as path-building hints:
    /// peers of the same trust domain usually chain through the same intermediate, so the first
    /// handshake with them does not change the policy (which would make <see cref="SpiffeHttpHandler"/>
    /// open a new connection).
    /// </param>
    internal PeerSvidVerifier(IX509BundleSetSource bundleSource, SpiffeIdAuthorizer authorizer, IX509SvidSource? ownSvids = null)
    {
        _bundleSource = bundleSource;
        _authorizer = authorizer;
        _ownSvids = ownSvids;
        Callback = Verify;
    }

    internal RemoteCertificateValidationCallback Callback { get; }

    /// <summary>
    /// The chain policy for the current bundles, rebuilt only when the source returns a new set
    /// instance or a new peer intermediate has been learned.
    /// </summary>
    internal X509ChainPolicy GetChainPolicy()
    {
        LearnOwnIntermediates();
        for (int attempt = 1; ; attempt++)
        {
            X509BundleSet bundles = _bundleSource.GetX509BundleSet();
            X509Certificate2[] intermediates = _knownIntermediates;
            PolicySnapshot? snapshot = _policy;
            if (snapshot is not null && ReferenceEquals(snapshot.Bundles, bundles) && ReferenceEquals(snapshot.Intermediates, intermediates))
            {
                return snapshot.Policy;
            }

            try
            {
                X509ChainPolicy policy = CreatePolicy(bundles, intermediates);
                _policy = new PolicySnapshot(bundles, intermediates, policy);
                return policy;
            }
            catch (Exception e) when (e is ObjectDisposedException or CryptographicException && attempt < CopyAttempts && !ReferenceEquals(_bundleSource.GetX509BundleSet(), bundles))
            {
                // The source released this set while it was being copied (two updates since the
                // read, e.g. a thread paused under load): the next read gets the newest one.
            }
        }
    }

    private static X509ChainPolicy CreatePolicy(X509BundleSet bundles, X509Certificate2[] intermediates)
    {
        // DOTNET-NOTES §2.4 and pitfall 14 (dotnet/runtime#69833, #59979): custom roots only, nothing fetched.
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };

        // Copies (each shares the authority's native certificate), never disposed here: the source
        // disposes a superseded bundle set one update later, but a handshake that took this policy
        // (or a SpiffeHttpHandler connection pool built on it) can still be building a chain with it,
        // and X509Chain.Build throws on a disposed certificate in CustomTrustStore (seen in the soak,
        // benchmarks/Spiffe.Soak, with a rotation every 500 ms). The GC releases the copies with the policy.
        foreach (X509Bundle bundle in bundles)
        {
            foreach (X509Certificate2 authority in bundle.X509Authorities)
            {
                policy.CustomTrustStore.Add(new X509Certificate2(authority));
            }
        }

        // A resumed TLS session carries the peer's leaf but not its intermediates (observed on Linux,
        // .NET 10: SslStream still calls the callback, and the chain ends in PartialChain). The
        // intermediates of peers already fully validated sit in the untrusted ExtraStore so those
        // chains still reach a bundle root; they are path-building hints, never trust anchors.
        policy.ExtraStore.AddRange(intermediates);
        return policy;
    }

    private bool Verify(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        // SVIDs carry no DNS name, so a client always sees a name mismatch (DOTNET-NOTES §2.9
        // pitfall 7); the SPIFFE ID is authorized instead. Every other error fails.
        if ((errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) != SslPolicyErrors.None || certificate is null || chain is null)
        {
            return false;
        }

        if (!TryAuthenticate(certificate, chain, _bundleSource, out SpiffeId? id))
        {
            return false;
        }

        Remember(chain.ChainElements);
        return _authorizer.IsAuthorized(id);
    }

    private void Remember(X509ChainElementCollection elements)
    {
        for (int i = 1; i < elements.Count - 1; i++)
        {
            Learn(elements[i].Certificate.RawDataMemory.Span);
        }
    }

    // Checked once per SVID instance: a new intermediate here comes with a new SVID, when the policy
    // users (SpiffeHttpHandler) start over anyway.
    private void LearnOwnIntermediates()
    {
        if (_ownSvids is null)
        {
            return;
        }

        X509Svid own;
        try
        {
            own = _ownSvids.GetX509Svid();
        }
        catch (SpiffeException)
        {
            return; // no SVID yet: the handshake itself reports that
        }

        if (ReferenceEquals(Volatile.Read(ref _lastOwnSvid), own))
        {
            return;
        }

        foreach (X509Certificate2 intermediate in own.Intermediates)
        {
            Learn(intermediate.RawDataMemory.Span);
        }

        Volatile.Write(ref _lastOwnSvid, own);
    }

    // Keeps a copy (SslStream disposes the chain's certificates; sources dispose superseded SVIDs)
    // of an intermediate not seen before.
    private void Learn(ReadOnlySpan<byte> der)
    {
        if (IsKnown(_knownIntermediates, der))
        {
            return;
        }

        lock (_intermediatesLock)
        {
            X509Certificate2[] known = _knownIntermediates;
            if (IsKnown(known, der))
            {
                return;
            }

            X509Certificate2 copy = X509CertificateLoader.LoadCertificate(der);
            // Oldest out first; a dropped copy may still be in a policy in use, so the GC releases it.
            _knownIntermediates = known.Length < MaxKnownIntermediates ? [.. known, copy] : [.. known.AsSpan(1), copy];
        }
    }

    private static bool IsKnown(X509Certificate2[] known, ReadOnlySpan<byte> der)
    {
        foreach (X509Certificate2 certificate in known)
        {
            if (certificate.RawDataMemory.Span.SequenceEqual(der))
            {
                return true;
            }
        }

        return false;
    }

    internal static bool TryAuthenticate(X509Certificate certificate, X509Chain chain, IX509BundleSource bundleSource, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SpiffeId? id)
    {
        ReadOnlySpan<byte> leafDer = certificate is X509Certificate2 leaf ? leaf.RawDataMemory.Span : certificate.GetRawCertData();
        if (!SvidLeafRules.TryCheckLeaf(leafDer, out id, out _, out _, out _))
        {
            return false;
        }

        X509Bundle? bundle = bundleSource.GetX509Bundle(id.TrustDomain);

        // SslStream owns this chain and disposes its element certificates after the callback
        // returns, so they are read here and not disposed (DOTNET-NOTES §2.2, pitfall 13).
        X509ChainElementCollection elements = chain.ChainElements;
        if (bundle is null || elements.Count < 2 || !elements[0].Certificate.RawDataMemory.Span.SequenceEqual(leafDer))
        {
            id = null;
            return false;
        }

        // The anchor must be an authority of the peer's own trust domain, not of any trusted one.
        if (!bundle.Contains(elements[^1].Certificate))
        {
            id = null;
            return false;
        }

        // Everything between the leaf and the anchor signs certificates and must be a CA (X509-SVID §3.2, §4.1, §4.3).
        for (int i = 1; i < elements.Count - 1; i++)
        {
            if (!SvidLeafRules.TryCheckSigningCertificate(elements[i].Certificate.RawDataMemory.Span, i, out CertificateFields _, out _))
            {
                id = null;
                return false;
            }
        }

        return true;
    }

    private sealed record PolicySnapshot(X509BundleSet Bundles, X509Certificate2[] Intermediates, X509ChainPolicy Policy);
}

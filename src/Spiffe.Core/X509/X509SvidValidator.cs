using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Spiffe.Bundles;
using Spiffe.Internal;

namespace Spiffe.X509;

/// <summary>
/// Authenticates a peer's X509-SVID: checks the leaf against the X509-SVID rules, picks the bundle
/// of the leaf's own trust domain (and only that one), and runs RFC 5280 path validation with
/// exactly that bundle's authorities as trust anchors. Authorization (which IDs may talk to you)
/// is a separate step on the returned <see cref="X509SvidValidationResult.SpiffeId"/>.
/// </summary>
/// <remarks>
/// <para>
/// Thread-safe. Successful validations are cached (bounded, keyed by the exact chain bytes): a
/// repeat of a chain is answered without rebuilding the path while the bundle source still returns
/// the same <see cref="X509Bundle"/> instance and the clock is within every certificate's validity.
/// A new bundle instance (rotation) or the passage of time forces a full validation.
/// </para>
/// <code>
/// var validator = new X509SvidValidator(bundleSet);
/// X509SvidValidationResult result = validator.Validate(peerChain);
/// if (!result.IsValid) { /* reject: result.Error says why */ }
/// </code>
/// </remarks>
public sealed class X509SvidValidator
{
    /// <summary>The number of validated chains remembered when the constructor is not told otherwise.</summary>
    /// <remarks>A property, not a constant, so a later release can change it without recompiling callers.</remarks>
    public static int DefaultCacheSize => 1000;

    private readonly IX509BundleSource _bundleSource;
    private readonly TimeProvider _timeProvider;
    private readonly ValidationCache? _cache;

    /// <summary>Creates a validator.</summary>
    /// <param name="bundleSource">Where to find the X.509 bundle of a peer's trust domain; no bundle means untrusted.</param>
    /// <param name="timeProvider">The clock used as the path validation time; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="cacheSize">How many successfully validated chains to remember; 0 disables the cache; <see cref="DefaultCacheSize"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cacheSize"/> is negative.</exception>
    public X509SvidValidator(IX509BundleSource bundleSource, TimeProvider? timeProvider = null, int? cacheSize = null)
    {
        ArgumentNullException.ThrowIfNull(bundleSource);
        int size = cacheSize ?? DefaultCacheSize;
        ArgumentOutOfRangeException.ThrowIfNegative(size, nameof(cacheSize));
        _bundleSource = bundleSource;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _cache = size == 0 ? null : new ValidationCache(size);
    }

    internal long CacheHits => _cache?.Hits ?? 0;

    internal long CacheMisses => _cache?.Misses ?? 0;

    internal int CacheCount => _cache?.Count ?? 0;

    /// <summary>Validates a chain as presented by a peer: the leaf first, then any intermediates.</summary>
    /// <exception cref="ArgumentException">The list contains null.</exception>
    public X509SvidValidationResult Validate(IReadOnlyList<X509Certificate2> presentedChain)
    {
        ArgumentNullException.ThrowIfNull(presentedChain);
        if (presentedChain.Count == 0)
        {
            return X509SvidValidationResult.Failure(X509SvidErrorKind.Malformed, "The peer presented no certificate.");
        }

        for (int i = 0; i < presentedChain.Count; i++)
        {
            if (presentedChain[i] is null)
            {
                throw new ArgumentException("The chain contains a null certificate.", nameof(presentedChain));
            }
        }

        DateTimeOffset now = _timeProvider.GetUtcNow();
        int hash = 0;
        if (_cache is not null)
        {
            hash = ValidationCache.Hash(presentedChain);
            if (TryAnswerFromCache(_cache.Find(hash, presentedChain), now, out X509SvidValidationResult? cached))
            {
                return cached;
            }
        }

        return ValidateUncached(presentedChain, now, hash);
    }

    /// <summary>Validates a chain given as concatenated DER certificates, the leaf first.</summary>
    public X509SvidValidationResult Validate(ReadOnlySpan<byte> concatenatedDerChain)
    {
        DateTimeOffset now = _timeProvider.GetUtcNow();
        int hash = 0;
        if (_cache is not null && ValidationCache.TryHash(concatenatedDerChain, out hash)
            && TryAnswerFromCache(_cache.Find(hash, concatenatedDerChain), now, out X509SvidValidationResult? cached))
        {
            return cached;
        }

        X509Certificate2[] certificates;
        try
        {
            certificates = CertificateDer.LoadConcatenated(concatenatedDerChain, "presented certificate chain");
        }
        catch (FormatException e)
        {
            return X509SvidValidationResult.Failure(X509SvidErrorKind.Malformed, e.Message);
        }

        try
        {
            return ValidateUncached(certificates, now, hash);
        }
        finally
        {
            foreach (X509Certificate2 certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    private bool TryAnswerFromCache(ValidationCache.Entry? entry, DateTimeOffset now, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out X509SvidValidationResult? result)
    {
        if (entry is not null
            && now >= entry.ValidFrom
            && now <= entry.ValidUntil
            && ReferenceEquals(_bundleSource.GetX509Bundle(entry.Result.SpiffeId!.TrustDomain), entry.Bundle))
        {
            _cache!.RecordHit();
            result = entry.Result;
            return true;
        }

        _cache!.RecordMiss();
        result = null;
        return false;
    }

    private X509SvidValidationResult ValidateUncached(IReadOnlyList<X509Certificate2> presented, DateTimeOffset now, int hash)
    {
        X509Certificate2 leaf = presented[0];
        if (!SvidLeafRules.TryCheckLeaf(leaf.RawDataMemory.Span, out SpiffeId? id, out CertificateFields leafFields, out X509SvidErrorKind kind, out string? error))
        {
            return X509SvidValidationResult.Failure(kind, error);
        }

        // X509-SVID §5, Workload API §4.6, Federation §7.3: only the bundle of the peer's own trust domain.
        X509Bundle? bundle = _bundleSource.GetX509Bundle(id.TrustDomain);
        if (bundle is null)
        {
            return X509SvidValidationResult.Failure(X509SvidErrorKind.NoBundle, $"No X.509 bundle for trust domain '{id.TrustDomain}': its SVIDs are not trusted.");
        }

        if (bundle.X509Authorities.Count == 0)
        {
            return X509SvidValidationResult.Failure(X509SvidErrorKind.NoBundle, $"The X.509 bundle for trust domain '{id.TrustDomain}' is empty: its SVIDs are not trusted.");
        }

        DateTimeOffset validFrom = leafFields.NotBefore;
        DateTimeOffset validUntil = leafFields.NotAfter;
        using var chain = new X509Chain();
        X509ChainPolicy policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTimeIgnored = false;
        policy.VerificationTime = now.UtcDateTime;
        for (int i = 0; i < bundle.X509Authorities.Count; i++)
        {
            policy.CustomTrustStore.Add(bundle.X509Authorities[i]);
        }

        for (int i = 1; i < presented.Count; i++)
        {
            policy.ExtraStore.Add(presented[i]);
        }

        bool built;
        try
        {
            built = chain.Build(leaf);
        }
        catch (CryptographicException e)
        {
            return X509SvidValidationResult.Failure(X509SvidErrorKind.UntrustedChain, $"The certificate chain of {id} could not be processed for path validation ({e.Message}).");
        }

        X509ChainElementCollection elements = chain.ChainElements;
        try
        {
            X509ChainStatus[] status = chain.ChainStatus;
            if (!built || status.Length != 0)
            {
                return X509SvidValidationResult.Failure(X509SvidErrorKind.UntrustedChain, DescribeChainFailure(id, status));
            }

            // Element 0 is the leaf and the last one the anchor from the bundle; everything between
            // signs certificates and must be a CA (X509-SVID §3.2, §4.1, §4.3).
            for (int i = 1; i < elements.Count; i++)
            {
                ReadOnlySpan<byte> der = elements[i].Certificate.RawDataMemory.Span;
                CertificateFields fields;
                if (i < elements.Count - 1)
                {
                    if (!SvidLeafRules.TryCheckSigningCertificate(der, i, out fields, out error))
                    {
                        return X509SvidValidationResult.Failure(X509SvidErrorKind.SigningCertificate, error);
                    }
                }
                else if (!CertificateFields.TryRead(der, out fields))
                {
                    return X509SvidValidationResult.Failure(X509SvidErrorKind.Malformed, "The trust anchor is not a well-formed X.509 certificate.");
                }

                Narrow(fields, ref validFrom, ref validUntil);
            }
        }
        finally
        {
            // Chain elements own native certificate handles (DOTNET-NOTES §2.2).
            foreach (X509ChainElement element in elements)
            {
                element.Certificate.Dispose();
            }
        }

        var result = X509SvidValidationResult.Success(id);
        if (_cache is not null)
        {
            // Presented certificates the path did not use still bound the entry's lifetime.
            for (int i = 1; i < presented.Count; i++)
            {
                if (CertificateFields.TryRead(presented[i].RawDataMemory.Span, out CertificateFields fields))
                {
                    Narrow(fields, ref validFrom, ref validUntil);
                }
            }

            _cache.Add(ValidationCache.Entry.Create(hash, presented, bundle, result, validFrom, validUntil));
        }

        return result;
    }

    private static void Narrow(in CertificateFields fields, ref DateTimeOffset validFrom, ref DateTimeOffset validUntil)
    {
        if (fields.NotBefore > validFrom)
        {
            validFrom = fields.NotBefore;
        }

        if (fields.NotAfter < validUntil)
        {
            validUntil = fields.NotAfter;
        }
    }

    private static string DescribeChainFailure(SpiffeId id, X509ChainStatus[] status)
    {
        var builder = new StringBuilder("The certificate chain of ")
            .Append(id)
            .Append(" does not validate against the X.509 bundle of trust domain '")
            .Append(id.TrustDomain)
            .Append("' (X509-SVID §5.1, RFC 5280 path validation): ");
        if (status.Length == 0)
        {
            return builder.Append("no path to a bundle authority.").ToString();
        }

        for (int i = 0; i < status.Length; i++)
        {
            if (i > 0)
            {
                builder.Append("; ");
            }

            builder.Append(status[i].Status);
            string information = status[i].StatusInformation.Trim();
            if (information.Length > 0)
            {
                builder.Append(" (").Append(information).Append(')');
            }
        }

        return builder.Append('.').ToString();
    }
}

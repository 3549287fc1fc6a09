using System.Collections.Concurrent;
using System.Security.Cryptography;
using Spiffe.Bundles;

namespace Spiffe.Tls;

/// <summary>
/// The peer leaves that passed a full validation (a chain built only from what the peer presented
/// in that handshake, anchored in the bundle of its own trust domain), so a resumed TLS session,
/// which carries only the leaf, can be accepted: a leaf-only chain is accepted only when that exact
/// leaf (SHA-256 of its DER) was validated against the bundles in force now (the same
/// <see cref="X509BundleSet"/> and <see cref="X509Bundle"/> instances) and every certificate of the chain validated then is
/// still within its validity period. A peer that never presented its intermediates is never in here.
/// </summary>
internal sealed class VerifiedLeafCache
{
    /// <summary>Leaves remembered at most; beyond that, stale entries go, then all (a full handshake refills).</summary>
    internal const int Capacity = 4096;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    internal int Count => _entries.Count;

    internal void Remember(ReadOnlySpan<byte> leafDer, X509BundleSet bundles, X509Bundle bundle, DateTime notBeforeUtc, DateTime notAfterUtc)
    {
        if (_entries.Count >= Capacity)
        {
            Trim(bundles);
        }

        _entries[Key(leafDer)] = new Entry(bundles, bundle, notBeforeUtc, notAfterUtc);
    }

    internal bool WasValidated(ReadOnlySpan<byte> leafDer, X509BundleSet bundles, X509Bundle bundle, DateTime nowUtc) =>
        _entries.TryGetValue(Key(leafDer), out Entry? entry)
        && ReferenceEquals(entry.Bundles, bundles)
        && ReferenceEquals(entry.Bundle, bundle)
        && nowUtc >= entry.NotBeforeUtc
        && nowUtc <= entry.NotAfterUtc;

    private void Trim(X509BundleSet current)
    {
        DateTime now = DateTime.UtcNow;
        foreach (KeyValuePair<string, Entry> pair in _entries)
        {
            if (!ReferenceEquals(pair.Value.Bundles, current) || now > pair.Value.NotAfterUtc)
            {
                _entries.TryRemove(pair);
            }
        }

        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }
    }

    private static string Key(ReadOnlySpan<byte> der)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(der, hash);
        return Convert.ToHexString(hash);
    }

    private sealed record Entry(X509BundleSet Bundles, X509Bundle Bundle, DateTime NotBeforeUtc, DateTime NotAfterUtc);
}

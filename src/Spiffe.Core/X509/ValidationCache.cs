using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using Spiffe.Bundles;
using Spiffe.Internal;

namespace Spiffe.X509;

/// <summary>
/// A bounded cache of successful X509-SVID validations, keyed by the exact bytes of the presented
/// chain. An entry may answer only while the bundle source returns the very same bundle instance
/// and the clock is inside the validity of every certificate involved; the caller checks both.
/// </summary>
/// <remarks>
/// One entry per hash: a colliding chain replaces the entry (a miss, never a wrong answer, because
/// a hit compares every byte). Eviction is first-in first-out once <see cref="Capacity"/> is
/// reached. Only successes are stored, so a peer sending garbage cannot push entries out.
/// </remarks>
internal sealed class ValidationCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Entry> _entries;
    private readonly Queue<int> _insertionOrder;
    private long _hits;
    private long _misses;

    internal ValidationCache(int capacity)
    {
        Capacity = capacity;
        _entries = new Dictionary<int, Entry>(Math.Min(capacity, 64));
        // Sized lazily: a validator that sees few peers should not pay for the full bound up front.
        _insertionOrder = new Queue<int>(Math.Min(capacity, 64));
    }

    internal int Capacity { get; }

    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    internal long Hits => Interlocked.Read(ref _hits);

    internal long Misses => Interlocked.Read(ref _misses);

    internal void RecordHit() => Interlocked.Increment(ref _hits);

    internal void RecordMiss() => Interlocked.Increment(ref _misses);

    /// <summary>Hashes a chain the same way for both input shapes: each certificate's bytes, then its length.</summary>
    internal static int Hash(IReadOnlyList<X509Certificate2> chain)
    {
        var hash = default(HashCode);
        for (int i = 0; i < chain.Count; i++)
        {
            ReadOnlySpan<byte> raw = chain[i].RawDataMemory.Span;
            hash.AddBytes(raw);
            hash.Add(raw.Length);
        }

        return hash.ToHashCode();
    }

    /// <summary>Hashes concatenated DER like <see cref="Hash(IReadOnlyList{X509Certificate2})"/>; false when it cannot be split.</summary>
    internal static bool TryHash(ReadOnlySpan<byte> concatenatedDer, out int result)
    {
        var hash = default(HashCode);
        result = 0;
        if (concatenatedDer.IsEmpty)
        {
            return false;
        }

        try
        {
            while (!concatenatedDer.IsEmpty)
            {
                AsnDecoder.ReadEncodedValue(concatenatedDer, AsnEncodingRules.DER, out _, out _, out int consumed);
                hash.AddBytes(concatenatedDer[..consumed]);
                hash.Add(consumed);
                concatenatedDer = concatenatedDer[consumed..];
            }
        }
        catch (AsnContentException)
        {
            return false;
        }

        result = hash.ToHashCode();
        return true;
    }

    internal Entry? Find(int hash, IReadOnlyList<X509Certificate2> chain)
    {
        Entry? entry;
        lock (_lock)
        {
            _entries.TryGetValue(hash, out entry);
        }

        // Entries are immutable, so the byte comparison needs no lock.
        return entry is not null && entry.Matches(chain) ? entry : null;
    }

    internal Entry? Find(int hash, ReadOnlySpan<byte> concatenatedDer)
    {
        Entry? entry;
        lock (_lock)
        {
            _entries.TryGetValue(hash, out entry);
        }

        return entry is not null && entry.Der.AsSpan().SequenceEqual(concatenatedDer) ? entry : null;
    }

    internal void Add(Entry entry)
    {
        lock (_lock)
        {
            if (_entries.ContainsKey(entry.Hash))
            {
                _entries[entry.Hash] = entry;
                return;
            }

            if (_entries.Count == Capacity)
            {
                _entries.Remove(_insertionOrder.Dequeue());
            }

            _entries.Add(entry.Hash, entry);
            _insertionOrder.Enqueue(entry.Hash);
        }
    }

    /// <summary>A successful validation and the conditions under which it still holds.</summary>
    internal sealed class Entry
    {
        internal Entry(int hash, byte[] der, X509Bundle bundle, X509SvidValidationResult result, DateTimeOffset validFrom, DateTimeOffset validUntil)
        {
            Hash = hash;
            Der = der;
            Bundle = bundle;
            Result = result;
            ValidFrom = validFrom;
            ValidUntil = validUntil;
        }

        internal int Hash { get; }

        /// <summary>The presented chain as concatenated DER.</summary>
        internal byte[] Der { get; }

        /// <summary>The bundle instance the chain was validated against.</summary>
        internal X509Bundle Bundle { get; }

        internal X509SvidValidationResult Result { get; }

        /// <summary>The latest NotBefore of every certificate involved (presented, intermediates, anchor).</summary>
        internal DateTimeOffset ValidFrom { get; }

        /// <summary>The earliest NotAfter of every certificate involved.</summary>
        internal DateTimeOffset ValidUntil { get; }

        internal bool Matches(IReadOnlyList<X509Certificate2> chain)
        {
            ReadOnlySpan<byte> rest = Der;
            for (int i = 0; i < chain.Count; i++)
            {
                ReadOnlySpan<byte> raw = chain[i].RawDataMemory.Span;
                if (!rest.StartsWith(raw))
                {
                    return false;
                }

                rest = rest[raw.Length..];
            }

            return rest.IsEmpty;
        }

        internal static Entry Create(int hash, IReadOnlyList<X509Certificate2> chain, X509Bundle bundle, X509SvidValidationResult result, DateTimeOffset validFrom, DateTimeOffset validUntil) =>
            new(hash, CertificateDer.Concatenate(chain), bundle, result, validFrom, validUntil);
    }
}

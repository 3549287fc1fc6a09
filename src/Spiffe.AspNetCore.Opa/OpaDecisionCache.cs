using System.Collections.Concurrent;

namespace Spiffe.AspNetCore.Opa;

/// <summary>
/// Decisions (allow and deny alike) by question, each valid for the TTL from when OPA answered, at most
/// <c>capacity</c> entries. Lookups are lock-free; a full cache first drops expired entries, then
/// about a tenth of the rest, so memory stays bounded whatever callers send.
/// </summary>
internal sealed class OpaDecisionCache(int capacity, TimeSpan ttl, TimeProvider time)
{
    private readonly ConcurrentDictionary<OpaDecisionKey, Entry> _entries = new();
    private readonly Lock _evicting = new();
    private readonly long _ttlTicks = (long)(ttl.TotalSeconds * time.TimestampFrequency);
    private int _count;

    public bool Enabled => capacity > 0 && ttl > TimeSpan.Zero;

    public int Count => Volatile.Read(ref _count);

    public bool TryGet(in OpaDecisionKey key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out OpaDecision? decision)
    {
        if (_entries.TryGetValue(key, out Entry? entry))
        {
            if (time.GetTimestamp() < entry.Expires)
            {
                decision = entry.Decision;
                return true;
            }

            Remove(key, entry);
        }

        decision = null;
        return false;
    }

    public void Set(in OpaDecisionKey key, OpaDecision decision)
    {
        if (!Enabled)
        {
            return;
        }

        if (Volatile.Read(ref _count) >= capacity)
        {
            Evict();
        }

        var entry = new Entry(decision, time.GetTimestamp() + _ttlTicks);
        if (_entries.TryAdd(key, entry))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _entries[key] = entry;
        }
    }

    private void Evict()
    {
        lock (_evicting)
        {
            if (Volatile.Read(ref _count) < capacity)
            {
                return;
            }

            long now = time.GetTimestamp();
            foreach (KeyValuePair<OpaDecisionKey, Entry> pair in _entries)
            {
                if (now >= pair.Value.Expires)
                {
                    Remove(pair.Key, pair.Value);
                }
            }

            int excess = Volatile.Read(ref _count) - (capacity - Math.Max(1, capacity / 10));
            foreach (KeyValuePair<OpaDecisionKey, Entry> pair in _entries)
            {
                if (excess-- <= 0)
                {
                    break;
                }

                Remove(pair.Key, pair.Value);
            }
        }
    }

    private void Remove(OpaDecisionKey key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<OpaDecisionKey, Entry>(key, entry)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private sealed record Entry(OpaDecision Decision, long Expires);
}

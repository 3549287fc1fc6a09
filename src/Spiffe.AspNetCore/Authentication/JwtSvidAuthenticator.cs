using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using System.Text.Json;
using Spiffe.Bundles;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>
/// The validator of one JWT scheme plus its cache of validated tokens. A cache entry is keyed by
/// the exact token, used only before the token's <c>exp</c> and only while the subject's trust
/// domain still has the very bundle object that verified it (a Workload API update replaces the
/// bundle objects, so any bundle change drops the entries it verified). Bounded: when full, expired
/// and stale entries are swept, then a quarter of the rest is dropped.
/// </summary>
internal sealed class JwtSvidAuthenticator
{
    [ThreadStatic]
    private static JwtBundle? t_lastBundle;

    private readonly JwtSvidValidator _validator;
    private readonly IJwtBundleSource _bundles;
    private readonly ConcurrentDictionary<string, Entry>? _cache;
    private readonly int _capacity;
    private int _count;

    public JwtSvidAuthenticator(JwtSvidValidator validator, int cacheSize)
    {
        _bundles = validator.BundleSource;

        // The validator reads bundles through this recorder, so the bundle that verified a token
        // is known without a second lookup (the read is synchronous, on this thread).
        _validator = new JwtSvidValidator(new RecordingSource(_bundles), [.. validator.Audiences], validator.TimeProvider, validator.Leeway);
        _capacity = cacheSize;
        if (cacheSize > 0)
        {
            _cache = new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal);
        }
    }

    public JwtSvidValidator Validator => _validator;

    internal int CachedCount => Volatile.Read(ref _count);

    /// <summary>Validates <paramref name="token"/>, from the cache when possible.</summary>
    public bool TryValidate(string token, [NotNullWhen(true)] out Entry? entry, [NotNullWhen(false)] out string? error)
    {
        if (_cache is not null && _cache.TryGetValue(token, out entry))
        {
            if (_validator.TimeProvider.GetUtcNow() < entry.Svid.ExpiresAt
                && ReferenceEquals(_bundles.GetJwtBundle(entry.Svid.Id.TrustDomain), entry.Bundle))
            {
                error = null;
                return true;
            }

            Remove(token, entry);
        }

        t_lastBundle = null;
        JwtSvidValidationResult result = _validator.Validate(token);
        JwtBundle? bundle = t_lastBundle;
        t_lastBundle = null;
        if (!result.IsValid)
        {
            entry = null;
            error = result.Error;
            return false;
        }

        JwtSvid svid = result.Svid;
        error = null;
        if (_cache is not null && bundle is not null)
        {
            // Mapped once here so every cache hit only copies them.
            entry = new Entry(svid, bundle, MapClaims(svid));
            Add(token, entry);
        }
        else
        {
            entry = new Entry(svid, bundle, Claims: null);
        }

        return true;
    }

    private void Add(string token, Entry entry)
    {
        if (Volatile.Read(ref _count) >= _capacity)
        {
            Shrink();
        }

        if (_cache!.TryAdd(token, entry))
        {
            Interlocked.Increment(ref _count);
        }
    }

    private void Remove(string token, Entry entry)
    {
        if (_cache!.TryRemove(new KeyValuePair<string, Entry>(token, entry)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private void Shrink()
    {
        DateTimeOffset now = _validator.TimeProvider.GetUtcNow();
        foreach (KeyValuePair<string, Entry> pair in _cache!)
        {
            if (now >= pair.Value.Svid.ExpiresAt || !ReferenceEquals(_bundles.GetJwtBundle(pair.Value.Svid.Id.TrustDomain), pair.Value.Bundle))
            {
                Remove(pair.Key, pair.Value);
            }
        }

        int excess = Volatile.Read(ref _count) - (_capacity * 3 / 4);
        foreach (KeyValuePair<string, Entry> pair in _cache)
        {
            if (excess-- <= 0)
            {
                break;
            }

            Remove(pair.Key, pair.Value);
        }
    }

    /// <summary>Every claim of the token as-is (arrays become one claim per element), typed per JSON kind.</summary>
    private static (string Type, string Value, string ValueType)[] MapClaims(JwtSvid svid)
    {
        var claims = new List<(string, string, string)>(svid.Claims.Count + 2);
        foreach (KeyValuePair<string, JsonElement> claim in svid.Claims)
        {
            if (claim.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement element in claim.Value.EnumerateArray())
                {
                    claims.Add(Map(claim.Key, element));
                }
            }
            else
            {
                claims.Add(Map(claim.Key, claim.Value));
            }
        }

        return [.. claims];
    }

    private static (string, string, string) Map(string type, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => (type, value.GetString()!, ClaimValueTypes.String),
        JsonValueKind.Number => (type, value.GetRawText(), value.TryGetInt64(out _) ? ClaimValueTypes.Integer64 : ClaimValueTypes.Double),
        JsonValueKind.True or JsonValueKind.False => (type, value.GetRawText(), ClaimValueTypes.Boolean),
        JsonValueKind.Null => (type, string.Empty, JsonClaimValueTypes.JsonNull),
        JsonValueKind.Array => (type, value.GetRawText(), JsonClaimValueTypes.JsonArray),
        _ => (type, value.GetRawText(), JsonClaimValueTypes.Json),
    };

    /// <summary>A validated token: the SVID, the bundle that verified it, and (when cached) its claims ready to copy into an identity.</summary>
    internal sealed record Entry(JwtSvid Svid, JwtBundle? Bundle, (string Type, string Value, string ValueType)[]? Claims)
    {
        /// <summary>Adds every claim of the token to <paramref name="identity"/>.</summary>
        public void AddClaimsTo(ClaimsIdentity identity, string issuer)
        {
            if (Claims is not null)
            {
                foreach ((string type, string value, string valueType) in Claims)
                {
                    identity.AddClaim(new Claim(type, value, valueType, issuer, issuer, identity));
                }

                return;
            }

            foreach (KeyValuePair<string, JsonElement> claim in Svid.Claims)
            {
                if (claim.Value.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement element in claim.Value.EnumerateArray())
                    {
                        Add(identity, Map(claim.Key, element), issuer);
                    }
                }
                else
                {
                    Add(identity, Map(claim.Key, claim.Value), issuer);
                }
            }
        }

        private static void Add(ClaimsIdentity identity, (string Type, string Value, string ValueType) claim, string issuer) =>
            identity.AddClaim(new Claim(claim.Type, claim.Value, claim.ValueType, issuer, issuer, identity));
    }

    private static class JsonClaimValueTypes
    {
        public const string Json = "JSON";
        public const string JsonArray = "JSON_ARRAY";
        public const string JsonNull = "JSON_NULL";
    }

    private sealed class RecordingSource(IJwtBundleSource inner) : IJwtBundleSource
    {
        public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
        {
            JwtBundle? bundle = inner.GetJwtBundle(trustDomain);
            t_lastBundle = bundle;
            return bundle;
        }
    }
}

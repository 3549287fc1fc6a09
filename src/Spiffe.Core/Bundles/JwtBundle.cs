using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using Spiffe.Internal;

namespace Spiffe.Bundles;

/// <summary>
/// The JWT authorities (public keys) of one trust domain: the only keys that may verify JWT-SVIDs
/// whose <c>sub</c> is in that trust domain. Immutable; keys are imported once at construction.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Parse(TrustDomain, ReadOnlySpan{byte})"/> reads the Workload API's JWT bundle format
/// (SPIFFE_Workload_API.md §6.2.2: "a standard JWK Set" of the trust domain's JWT authorities).
/// Keys with <c>"use": "jwt-svid"</c> are kept, and so are keys <em>without</em> <c>use</c>: SPIRE
/// agents and go-spiffe publish Workload API JWT bundles as plain JWK Sets with no <c>use</c>, and
/// ignoring those keys would make every JWT-SVID from a real agent untrusted. A key with any other
/// <c>use</c> (<c>x509-svid</c>, <c>sig</c>, <c>JWT-SVID</c>…) or an unknown <c>kty</c>/<c>crv</c> is
/// ignored on its own, so an X.509 authority never verifies a JWT. A SPIFFE bundle document
/// (<see cref="SpiffeBundle"/>) stays strict (Trust Domain and Bundle §4.2.2): there a key without
/// <c>use</c> is ignored.
/// </para>
/// <para>
/// A <c>jwt-svid</c> key without <c>kid</c> breaks the publisher rule of JWT-SVID.md §6.1 but is
/// kept: it can never be selected by a token's <c>kid</c>, and is only tried for tokens that carry
/// no <c>kid</c> (like every other key of a matching type).
/// </para>
/// <code>
/// JwtBundle bundle = JwtBundle.Parse(TrustDomain.Parse("example.org"), jwksUtf8);
/// bool known = bundle.TryGetJwtAuthority("key-1", out JwtAuthority? authority);
/// </code>
/// </remarks>
public sealed class JwtBundle : IJwtBundleSource
{
    private readonly JwtAuthority[] _authorities;
    private readonly Dictionary<string, JwtAuthority> _byKeyId;
    private readonly System.Collections.ObjectModel.ReadOnlyCollection<JwtAuthority> _readOnlyAuthorities;

    /// <summary>Creates a bundle with no authorities: it trusts no JWT-SVID.</summary>
    public JwtBundle(TrustDomain trustDomain)
        : this(trustDomain, [])
    {
    }

    /// <summary>Creates a bundle from authorities.</summary>
    /// <exception cref="ArgumentException">Two authorities share a key ID.</exception>
    public JwtBundle(TrustDomain trustDomain, IEnumerable<JwtAuthority> authorities)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        ArgumentNullException.ThrowIfNull(authorities);
        TrustDomain = trustDomain;
        _authorities = [.. authorities];
        _readOnlyAuthorities = Array.AsReadOnly(_authorities);
        _byKeyId = new Dictionary<string, JwtAuthority>(_authorities.Length, StringComparer.Ordinal);
        foreach (JwtAuthority authority in _authorities)
        {
            ArgumentNullException.ThrowIfNull(authority, nameof(authorities));
            if (authority.KeyId is not null && !_byKeyId.TryAdd(authority.KeyId, authority))
            {
                throw new ArgumentException($"Two JWT authorities of {trustDomain} have key ID \"{authority.KeyId}\".", nameof(authorities));
            }
        }
    }

    /// <summary>The trust domain these authorities speak for.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The authorities, in document order.</summary>
    public IReadOnlyList<JwtAuthority> JwtAuthorities => _readOnlyAuthorities;

    /// <summary>
    /// Parses a Workload API JWT bundle, a JWK Set (UTF-8 JSON). <c>keys</c> is required and may be
    /// empty; keys with <c>use</c> <c>jwt-svid</c> or with no <c>use</c> are kept (see the type remarks).
    /// </summary>
    /// <exception cref="FormatException">
    /// The document is not a JSON object, lacks <c>keys</c>, has duplicate members, holds a string
    /// that is not valid Unicode (invalid UTF-8 or an unpaired surrogate escape anywhere), or holds a
    /// malformed <c>jwt-svid</c> key or a repeated key ID. The only exception type bad input produces.
    /// </exception>
    public static JwtBundle Parse(TrustDomain trustDomain, ReadOnlySpan<byte> jwksUtf8)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        JwksContent content = JwksReader.Read(trustDomain, jwksUtf8, readX509: false, readSpiffeMembers: false, "JWT bundle", missingUseIsJwtSvid: true);
        return new JwtBundle(trustDomain, content.JwtAuthorities);
    }

    /// <inheritdoc cref="Parse(TrustDomain, ReadOnlySpan{byte})"/>
    public static JwtBundle Parse(TrustDomain trustDomain, string jwks)
    {
        ArgumentNullException.ThrowIfNull(jwks);
        return Parse(trustDomain, Encoding.UTF8.GetBytes(jwks));
    }

    /// <summary>The authority with key ID <paramref name="keyId"/> (exact, case-sensitive match).</summary>
    public bool TryGetJwtAuthority(string keyId, [NotNullWhen(true)] out JwtAuthority? authority)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return _byKeyId.TryGetValue(keyId, out authority);
    }

    /// <summary>This bundle when asked for its own trust domain; null for any other.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain) => TrustDomain.Equals(trustDomain) ? this : null;

    /// <summary>The bundle as a JWK Set (UTF-8 JSON): one <c>jwt-svid</c> JWK per authority, with its <c>kid</c> when it has one.</summary>
    public byte[] ToJwks()
    {
        var buffer = new ArrayBufferWriter<byte>(256 * (_authorities.Length + 1));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            WriteKeys(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal void WriteKeys(Utf8JsonWriter writer)
    {
        writer.WriteStartArray("keys"u8);
        foreach (JwtAuthority authority in _authorities)
        {
            authority.WriteJwk(writer);
        }

        writer.WriteEndArray();
    }

    /// <summary>The trust domain and the number of authorities.</summary>
    public override string ToString() => $"JwtBundle({TrustDomain}, {_authorities.Length} authorities)";
}

using System.Buffers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Spiffe.Internal;

namespace Spiffe.Bundles;

/// <summary>
/// A SPIFFE bundle (SPIFFE Trust Domain and Bundle §4): the X.509 and JWT authorities of one trust
/// domain, with the optional <c>spiffe_sequence</c> and <c>spiffe_refresh_hint</c>. Immutable.
/// </summary>
/// <remarks>
/// <para>
/// Parsing follows the spec, not the stricter reference parsers: <c>keys</c> is required (may be
/// empty); unknown top-level members are ignored; a key with a missing or unknown <c>use</c> or an
/// unknown <c>kty</c> is ignored on its own; an <c>x509-svid</c> key without <c>x5c</c> (or with
/// an empty one) is ignored and only the first <c>x5c</c> certificate is used.
/// <c>spiffe_sequence</c> and <c>spiffe_refresh_hint</c> must be JSON integers (<c>1.5</c> and
/// <c>"7"</c> are errors).
/// </para>
/// <para>
/// The bundle owns its certificates; <see cref="Dispose"/> releases them. The <see cref="X509Bundle"/>
/// returned by <see cref="GetX509Bundle"/> is part of this bundle: do not dispose it separately.
/// </para>
/// <code>
/// using SpiffeBundle bundle = SpiffeBundle.Parse(TrustDomain.Parse("example.org"), json);
/// X509Bundle? roots = bundle.GetX509Bundle(bundle.TrustDomain);
/// </code>
/// </remarks>
public sealed class SpiffeBundle : IX509BundleSource, IJwtBundleSource, IDisposable
{
    private readonly X509Bundle _x509;
    private readonly JwtBundle _jwt;

    /// <summary>Creates a bundle. It takes ownership of the certificates.</summary>
    /// <param name="trustDomain">The trust domain.</param>
    /// <param name="x509Authorities">The X.509 CA certificates (may be empty).</param>
    /// <param name="jwtAuthorities">The JWT authorities (may be empty).</param>
    /// <param name="sequence">The <c>spiffe_sequence</c>, if any.</param>
    /// <param name="refreshHint">The <c>spiffe_refresh_hint</c>, if any; whole seconds, not negative.</param>
    /// <exception cref="ArgumentException">Two JWT authorities share a key ID.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="refreshHint"/> is negative or not whole seconds.</exception>
    public SpiffeBundle(TrustDomain trustDomain, IEnumerable<X509Certificate2> x509Authorities, IEnumerable<JwtAuthority> jwtAuthorities, long? sequence = null, TimeSpan? refreshHint = null)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        if (refreshHint is { } hint && (hint < TimeSpan.Zero || hint.Ticks % TimeSpan.TicksPerSecond != 0 || hint.TotalSeconds > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(refreshHint), "The refresh hint must be a non-negative whole number of seconds.");
        }

        _jwt = new JwtBundle(trustDomain, jwtAuthorities);
        _x509 = new X509Bundle(trustDomain, x509Authorities);
        TrustDomain = trustDomain;
        Sequence = sequence;
        RefreshHint = refreshHint;
    }

    /// <summary>The trust domain.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The X.509 authorities (one per usable <c>x509-svid</c> key). Empty: the trust domain does not support X509-SVIDs.</summary>
    public IReadOnlyList<X509Certificate2> X509Authorities => _x509.X509Authorities;

    /// <summary>The JWT authorities (one per usable <c>jwt-svid</c> key). Empty: the trust domain does not support JWT-SVIDs.</summary>
    public IReadOnlyList<JwtAuthority> JwtAuthorities => _jwt.JwtAuthorities;

    /// <summary>The <c>spiffe_sequence</c>, or null when the document has none.</summary>
    public long? Sequence { get; }

    /// <summary>The <c>spiffe_refresh_hint</c>, or null when the document has none.</summary>
    public TimeSpan? RefreshHint { get; }

    /// <summary>Parses a SPIFFE bundle document (UTF-8 JSON).</summary>
    /// <exception cref="FormatException">
    /// The document is not a JSON object, lacks <c>keys</c>, has duplicate members, a string that is
    /// not valid Unicode, a non-integer sequence or refresh hint, or a malformed known key (including
    /// an <c>x5c</c> certificate whose public key cannot be read or is neither RSA nor EC). The only
    /// exception type bad input produces; a bundle this method returns can always be written by <see cref="ToJson"/>.
    /// </exception>
    public static SpiffeBundle Parse(TrustDomain trustDomain, ReadOnlySpan<byte> utf8Json)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        JwksContent content = JwksReader.Read(trustDomain, utf8Json, readX509: true, readSpiffeMembers: true, "SPIFFE bundle");
        return new SpiffeBundle(trustDomain, content.X509Authorities, content.JwtAuthorities, content.Sequence, content.RefreshHint);
    }

    /// <inheritdoc cref="Parse(TrustDomain, ReadOnlySpan{byte})"/>
    public static SpiffeBundle Parse(TrustDomain trustDomain, string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(trustDomain, Encoding.UTF8.GetBytes(json));
    }

    /// <summary>
    /// The bundle as a SPIFFE bundle document: <c>keys</c> with one <c>x509-svid</c> JWK per CA
    /// (one-element <c>x5c</c>, no <c>kid</c>) and one <c>jwt-svid</c> JWK per JWT authority (with
    /// its <c>kid</c>), then <c>spiffe_sequence</c> and <c>spiffe_refresh_hint</c> when set.
    /// </summary>
    /// <exception cref="InvalidOperationException">A CA certificate given to the constructor has a key a JWK cannot describe (never for a bundle returned by <see cref="Parse(TrustDomain, ReadOnlySpan{byte})"/>).</exception>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys"u8);
            foreach (X509Certificate2 certificate in _x509.X509Authorities)
            {
                JwksReader.WriteX509Authority(writer, certificate);
            }

            foreach (JwtAuthority authority in _jwt.JwtAuthorities)
            {
                authority.WriteJwk(writer);
            }

            writer.WriteEndArray();
            if (Sequence is { } sequence)
            {
                writer.WriteNumber("spiffe_sequence"u8, sequence);
            }

            if (RefreshHint is { } hint)
            {
                writer.WriteNumber("spiffe_refresh_hint"u8, (long)hint.TotalSeconds);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The X.509 part when asked for this bundle's trust domain (owned by this bundle); null for any other.</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain) => TrustDomain.Equals(trustDomain) ? _x509 : null;

    /// <summary>The JWT part when asked for this bundle's trust domain; null for any other.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain) => TrustDomain.Equals(trustDomain) ? _jwt : null;

    /// <summary>The trust domain, the authority counts and the sequence number.</summary>
    public override string ToString() =>
        $"SpiffeBundle({TrustDomain}, {X509Authorities.Count} X.509 authorities, {JwtAuthorities.Count} JWT authorities, sequence {(Sequence?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none")})";

    /// <summary>Releases the certificates' native handles.</summary>
    public void Dispose() => _x509.Dispose();
}

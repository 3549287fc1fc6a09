using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Spiffe.Bundles;
using Spiffe.Internal;

namespace Spiffe.Jwt;

/// <summary>
/// Parses and validates JWT-SVIDs (JWT-SVID.md §2–§4) with System.Text.Json and
/// System.Security.Cryptography only. Every failure is returned as a message, never thrown, so a
/// caller can choose between exceptions and a Try pattern.
/// </summary>
/// <remarks>
/// Why not Microsoft.IdentityModel's <c>JsonWebTokenHandler</c>: it is fast enough (see
/// JwtSvidValidationBenchmarks), but with a plain <c>TokenValidationParameters</c> (8.23.0) it
/// accepts what JWT-SVID forbids: <c>exp</c> as a string, <c>typ: at+jwt</c>, <c>crit</c> and
/// <c>jku</c> headers, an ES384 header on a P-256 key, duplicate claims. Enforcing those rules
/// means reading header and claims here anyway, so the library would only add a second parse.
/// </remarks>
internal static class JwtSvidReader
{
    /// <summary>Tokens longer than this are refused before any decoding (a JWT-SVID is typically well under 2 KiB).</summary>
    internal const int MaxTokenLength = 64 * 1024;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 32 };

    private static readonly SearchValues<char> Base64UrlOrDot = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <summary>Parses <paramref name="token"/>; verifies its signature when <paramref name="bundleSource"/> is set.</summary>
    internal static JwtSvid? Read(string token, IJwtBundleSource? bundleSource, string[] audiences, DateTimeOffset now, TimeSpan leeway, out string? error, out JwtSvidErrorKind kind)
    {
        kind = JwtSvidErrorKind.Malformed;
        if (token.Length == 0)
        {
            error = "The JWT-SVID is empty.";
            return null;
        }

        if (token.Length > MaxTokenLength)
        {
            error = $"The JWT-SVID is longer than {MaxTokenLength} characters.";
            return null;
        }

        if (token[0] == '{')
        {
            error = "The JWT-SVID uses the JWS JSON serialization; only the compact serialization (header.payload.signature) is allowed.";
            return null;
        }

        // Structure: exactly three base64url parts (vectorized scans; a token is hundreds of characters).
        int bad = token.AsSpan().IndexOfAnyExcept(Base64UrlOrDot);
        if (bad >= 0)
        {
            error = $"The JWT-SVID has a character at index {bad} that is not base64url.";
            return null;
        }

        int dots = token.AsSpan().Count('.');
        int firstDot = token.IndexOf('.', StringComparison.Ordinal);
        int lastDot = token.LastIndexOf('.');

        if (dots != 2)
        {
            error = dots == 4
                ? "The JWT-SVID has five parts (a JWE); only a signed JWS is allowed."
                : $"The JWT-SVID has {dots + 1} parts; a compact JWS has exactly three (header.payload.signature).";
            return null;
        }

        ReadOnlySpan<char> headerChars = token.AsSpan(0, firstDot);
        ReadOnlySpan<char> payloadChars = token.AsSpan(firstDot + 1, lastDot - firstDot - 1);
        ReadOnlySpan<char> signatureChars = token.AsSpan(lastDot + 1);
        if (headerChars.IsEmpty || payloadChars.IsEmpty)
        {
            error = "The JWT-SVID has an empty header or payload.";
            return null;
        }

        if (signatureChars.IsEmpty)
        {
            error = "The JWT-SVID has no signature (an unsecured JWT is never accepted).";
            return null;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(2 * token.Length);
        try
        {
            return ReadDecoded(token, headerChars, payloadChars, signatureChars, lastDot, buffer, bundleSource, audiences, now, leeway, out error, out kind);
        }
        finally
        {
            // The buffer held a decoded bearer token: clear it before other code can rent it.
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    private static JwtSvid? ReadDecoded(
        string token,
        ReadOnlySpan<char> headerChars,
        ReadOnlySpan<char> payloadChars,
        ReadOnlySpan<char> signatureChars,
        int lastDot,
        byte[] buffer,
        IJwtBundleSource? bundleSource,
        string[] audiences,
        DateTimeOffset now,
        TimeSpan leeway,
        out string? error,
        out JwtSvidErrorKind kind)
    {
        kind = JwtSvidErrorKind.Malformed;
        Span<byte> free = buffer;
        if (!TryDecode(headerChars, free, out int headerLength))
        {
            error = "The JWT-SVID header is not valid base64url.";
            return null;
        }

        ReadOnlySpan<byte> header = free[..headerLength];
        free = free[headerLength..];

        // JWT-SVID.md §2.1: the algorithm is checked before anything else is processed.
        if (!ReadHeader(header, out JwtAlgorithm algorithm, out string? keyId, out error, out bool algorithmRejected))
        {
            kind = algorithmRejected ? JwtSvidErrorKind.UnsupportedAlgorithm : JwtSvidErrorKind.Malformed;
            return null;
        }

        if (!TryDecode(payloadChars, free, out int payloadLength))
        {
            error = "The JWT-SVID payload is not valid base64url.";
            return null;
        }

        ReadOnlySpan<byte> payload = free[..payloadLength];
        free = free[payloadLength..];
        if (!ReadClaims(payload, out Claims claims, out error))
        {
            return null;
        }

        if (bundleSource is not null)
        {
            if (!TryDecode(signatureChars, free, out int signatureLength))
            {
                error = "The JWT-SVID signature is not valid base64url.";
                return null;
            }

            ReadOnlySpan<byte> signature = free[..signatureLength];
            free = free[signatureLength..];

            // The signing input is ASCII (every character was checked to be base64url or '.').
            int inputLength = Encoding.ASCII.GetBytes(token.AsSpan(0, lastDot), free);
            if (!VerifySignature(bundleSource, claims.Subject, algorithm, keyId, free[..inputLength], signature, out error, out kind))
            {
                return null;
            }
        }

        if (!MatchesAudience(claims.Audience, audiences))
        {
            kind = JwtSvidErrorKind.AudienceMismatch;
            error = $"The JWT-SVID audience [{Printable(string.Join(", ", claims.Audience))}] contains none of the expected audiences [{string.Join(", ", audiences)}].";
            return null;
        }

        if (now - leeway >= claims.ExpiresAt)
        {
            kind = JwtSvidErrorKind.Expired;
            error = $"The JWT-SVID expired at {Format(claims.ExpiresAt)} (now {Format(now)}, leeway {leeway.TotalSeconds:0} s).";
            return null;
        }

        if (claims.NotBefore is { } notBefore && now + leeway < notBefore)
        {
            kind = JwtSvidErrorKind.NotYetValid;
            error = $"The JWT-SVID is not valid before {Format(notBefore)} (now {Format(now)}, leeway {leeway.TotalSeconds:0} s).";
            return null;
        }

        error = null;
        kind = JwtSvidErrorKind.None;
        return new JwtSvid(token, claims.Subject, claims.Audience, claims.ExpiresAt, claims.IssuedAt, claims.NotBefore, claims.All, JwtAlgorithms.Name(algorithm), keyId, hint: null);
    }

    /// <summary>Reads the protected header: only <c>alg</c>, <c>kid</c> and <c>typ</c>, each a string, each at most once.</summary>
    private static bool ReadHeader(ReadOnlySpan<byte> header, out JwtAlgorithm algorithm, out string? keyId, out string? error, out bool algorithmRejected)
    {
        algorithmRejected = false;
        algorithm = default;
        keyId = null;
        string? alg = null;
        string? typ = null;
        bool hasTyp = false;
        if (!JsonText.StringsAreValid(header, ReaderOptions))
        {
            error = "The JWT-SVID header holds a string that is not valid Unicode (invalid UTF-8 or an unpaired surrogate escape).";
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(header, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "The JWT-SVID header is not a JSON object.";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int member = reader.ValueTextEquals("alg"u8) ? 0 : reader.ValueTextEquals("kid"u8) ? 1 : reader.ValueTextEquals("typ"u8) ? 2 : -1;
                if (member < 0)
                {
                    string name = reader.GetString()!;
                    error = name == "crit"
                        ? "The JWT-SVID header has \"crit\"; no critical extension is understood, so the token is rejected."
                        : $"The JWT-SVID header has \"{Printable(name)}\"; a JWT-SVID header may only hold alg, kid and typ.";
                    return false;
                }

                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    error = $"The JWT-SVID header \"{MemberName(member)}\" is not a string.";
                    return false;
                }

                string value = reader.GetString()!;
                bool duplicate = member switch
                {
                    0 => alg is not null,
                    1 => keyId is not null,
                    _ => hasTyp,
                };
                if (duplicate)
                {
                    error = $"The JWT-SVID header has \"{MemberName(member)}\" more than once.";
                    return false;
                }

                switch (member)
                {
                    case 0:
                        alg = value;
                        break;
                    case 1:
                        keyId = value;
                        break;
                    default:
                        typ = value;
                        hasTyp = true;
                        break;
                }
            }

            // Anything after the object (other than whitespace) makes Read throw.
            while (reader.Read())
            {
            }
        }
        catch (JsonException)
        {
            error = "The JWT-SVID header is not valid JSON.";
            return false;
        }
        catch (InvalidOperationException)
        {
            error = "The JWT-SVID header is not valid JSON.";
            return false;
        }

        if (alg is null)
        {
            error = "The JWT-SVID header has no \"alg\".";
            return false;
        }

        if (!JwtAlgorithms.TryParse(alg, out algorithm))
        {
            algorithmRejected = true;
            error = $"The JWT-SVID algorithm \"{Printable(alg)}\" is not allowed; JWT-SVIDs use RS256/384/512, ES256/384/512 or PS256/384/512.";
            return false;
        }

        if (hasTyp && typ is not ("JWT" or "JOSE"))
        {
            error = $"The JWT-SVID header \"typ\" is \"{Printable(typ!)}\"; only \"JWT\" or \"JOSE\" are allowed.";
            return false;
        }

        if (keyId is { Length: 0 })
        {
            error = "The JWT-SVID header has an empty \"kid\".";
            return false;
        }

        error = null;
        return true;
    }

    private static string MemberName(int member) => member switch
    {
        0 => "alg",
        1 => "kid",
        _ => "typ",
    };

    private readonly record struct Claims(
        SpiffeId Subject,
        string[] Audience,
        DateTimeOffset ExpiresAt,
        DateTimeOffset? IssuedAt,
        DateTimeOffset? NotBefore,
        Dictionary<string, JsonElement> All);

    private static bool ReadClaims(ReadOnlySpan<byte> payload, out Claims claims, out string? error)
    {
        claims = default;
        if (!JsonText.StringsAreValid(payload, ReaderOptions))
        {
            error = "The JWT-SVID payload holds a string that is not valid Unicode (invalid UTF-8 or an unpaired surrogate escape).";
            return false;
        }

        JsonElement root;
        try
        {
            var reader = new Utf8JsonReader(payload, ReaderOptions);
            root = JsonElement.ParseValue(ref reader);
            while (reader.Read())
            {
            }
        }
        catch (JsonException)
        {
            error = "The JWT-SVID payload is not valid JSON.";
            return false;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "The JWT-SVID payload is not a JSON object.";
            return false;
        }

        var all = new Dictionary<string, JsonElement>(8, StringComparer.Ordinal);
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!all.TryAdd(property.Name, property.Value))
            {
                error = $"The JWT-SVID payload has claim \"{Printable(property.Name)}\" more than once.";
                return false;
            }
        }

        // sub (JWT-SVID.md §3.1): the workload's SPIFFE ID; a trust domain ID is allowed.
        if (!all.TryGetValue("sub", out JsonElement sub))
        {
            error = "The JWT-SVID has no \"sub\" claim.";
            return false;
        }

        if (sub.ValueKind != JsonValueKind.String)
        {
            error = "The JWT-SVID \"sub\" claim is not a string.";
            return false;
        }

        if (!SpiffeId.TryParse(sub.GetString()!, out SpiffeId? subject, out string? idError))
        {
            error = $"The JWT-SVID \"sub\" claim is not a valid SPIFFE ID: {idError}";
            return false;
        }

        // aud (§3.2): a string or a non-empty array of strings.
        if (!all.TryGetValue("aud", out JsonElement aud))
        {
            error = "The JWT-SVID has no \"aud\" claim.";
            return false;
        }

        string[] audience;
        if (aud.ValueKind == JsonValueKind.String)
        {
            audience = [aud.GetString()!];
        }
        else if (aud.ValueKind == JsonValueKind.Array)
        {
            audience = new string[aud.GetArrayLength()];
            int i = 0;
            foreach (JsonElement value in aud.EnumerateArray())
            {
                if (value.ValueKind != JsonValueKind.String)
                {
                    error = "The JWT-SVID \"aud\" claim has an element that is not a string.";
                    return false;
                }

                audience[i++] = value.GetString()!;
            }
        }
        else
        {
            error = "The JWT-SVID \"aud\" claim is neither a string nor an array of strings.";
            return false;
        }

        if (audience.Length == 0 || Array.IndexOf(audience, string.Empty) >= 0)
        {
            error = "The JWT-SVID \"aud\" claim is empty or holds an empty audience.";
            return false;
        }

        // exp (§3.3) is required; nbf and iat are optional NumericDates (RFC 7519 §4.1).
        if (!all.TryGetValue("exp", out JsonElement exp))
        {
            error = "The JWT-SVID has no \"exp\" claim.";
            return false;
        }

        if (!TryReadNumericDate(exp, "exp", out DateTimeOffset expiresAt, out error)
            || !TryReadOptionalNumericDate(all, "nbf", out DateTimeOffset? notBefore, out error)
            || !TryReadOptionalNumericDate(all, "iat", out DateTimeOffset? issuedAt, out error))
        {
            return false;
        }

        claims = new Claims(subject, audience, expiresAt, issuedAt, notBefore, all);
        error = null;
        return true;
    }

    private static bool TryReadOptionalNumericDate(Dictionary<string, JsonElement> all, string name, out DateTimeOffset? value, out string? error)
    {
        value = null;
        error = null;
        if (!all.TryGetValue(name, out JsonElement element))
        {
            return true;
        }

        if (!TryReadNumericDate(element, name, out DateTimeOffset date, out error))
        {
            return false;
        }

        value = date;
        return true;
    }

    private static bool TryReadNumericDate(JsonElement element, string name, out DateTimeOffset value, out string? error)
    {
        const long MinSeconds = -62135596800; // 0001-01-01
        const long MaxSeconds = 253402300799; // 9999-12-31T23:59:59
        value = default;
        if (element.ValueKind != JsonValueKind.Number)
        {
            error = $"The JWT-SVID \"{name}\" claim is not a number.";
            return false;
        }

        if (element.TryGetInt64(out long seconds))
        {
            if (seconds is >= MinSeconds and <= MaxSeconds)
            {
                value = DateTimeOffset.FromUnixTimeSeconds(seconds);
                error = null;
                return true;
            }
        }
        else if (element.TryGetDouble(out double fractional) && double.IsFinite(fractional) && fractional >= MinSeconds && fractional <= MaxSeconds)
        {
            // RFC 7519 §2: a NumericDate may be non-integer.
            value = DateTimeOffset.UnixEpoch.AddTicks((long)(fractional * TimeSpan.TicksPerSecond));
            error = null;
            return true;
        }

        error = $"The JWT-SVID \"{name}\" claim is out of range.";
        return false;
    }

    private static bool VerifySignature(IJwtBundleSource bundleSource, SpiffeId subject, JwtAlgorithm algorithm, string? keyId, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature, out string? error, out JwtSvidErrorKind kind)
    {
        kind = JwtSvidErrorKind.InvalidSignature;
        // WA §6.3: only the bundle of the subject's trust domain can vouch for it.
        TrustDomain trustDomain = subject.TrustDomain;
        JwtBundle? bundle = bundleSource.GetJwtBundle(trustDomain);
        if (bundle is null)
        {
            kind = JwtSvidErrorKind.NoBundle;
            error = $"There is no JWT bundle for trust domain {trustDomain}, so JWT-SVIDs of {subject} are untrusted.";
            return false;
        }

        string alg = JwtAlgorithms.Name(algorithm);
        if (keyId is not null)
        {
            if (!bundle.TryGetJwtAuthority(keyId, out JwtAuthority? authority))
            {
                kind = JwtSvidErrorKind.UnknownKey;
                error = $"The JWT bundle of {trustDomain} has no JWT authority with key ID \"{Printable(keyId)}\".";
                return false;
            }

            if (!JwtAlgorithms.Fits(algorithm, authority.Kind))
            {
                kind = JwtSvidErrorKind.UnknownKey;
                error = $"The JWT-SVID algorithm {alg} does not fit key \"{Printable(keyId)}\" ({JwtAlgorithms.Describe(authority.Kind)}).";
                return false;
            }

            if (!TryVerify(authority, algorithm, signingInput, signature))
            {
                error = $"The JWT-SVID signature does not verify with key \"{Printable(keyId)}\" of {trustDomain}.";
                return false;
            }

            error = null;
            return true;
        }

        // JWT-SVID.md §2.2: kid is optional; try every key whose type fits the algorithm.
        bool candidate = false;
        foreach (JwtAuthority authority in bundle.JwtAuthorities)
        {
            if (JwtAlgorithms.Fits(algorithm, authority.Kind))
            {
                candidate = true;
                if (TryVerify(authority, algorithm, signingInput, signature))
                {
                    error = null;
                    return true;
                }
            }
        }

        kind = candidate ? JwtSvidErrorKind.InvalidSignature : JwtSvidErrorKind.UnknownKey;
        error = candidate
            ? $"The JWT-SVID has no \"kid\" and its signature verifies with no {alg} key of {trustDomain}."
            : $"The JWT bundle of {trustDomain} has no key that can verify {alg}.";
        return false;
    }

    private static bool TryVerify(JwtAuthority authority, JwtAlgorithm algorithm, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature)
    {
        try
        {
            return authority.Verify(algorithm, signingInput, signature);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool MatchesAudience(string[] tokenAudience, string[] expected)
    {
        foreach (string value in tokenAudience)
        {
            foreach (string wanted in expected)
            {
                if (string.Equals(value, wanted, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Strict base64url decoding that reports failure instead of throwing.</summary>
    private static bool TryDecode(ReadOnlySpan<char> source, Span<byte> destination, out int written) =>
        Base64Url.DecodeFromChars(source, destination, out int consumed, out written) == OperationStatus.Done && consumed == source.Length;

    private static string Format(DateTimeOffset time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Token-supplied text for a message: at most 64 printable ASCII characters, the rest replaced.</summary>
    internal static string Printable(string value)
    {
        const int Max = 64;
        var builder = new StringBuilder(Math.Min(value.Length, Max + 3));
        foreach (char c in value.AsSpan(0, Math.Min(value.Length, Max)))
        {
            builder.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return value.Length > Max ? builder.Append("...").ToString() : builder.ToString();
    }
}

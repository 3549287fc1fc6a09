using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Unicode;

namespace Spiffe.Internal;

/// <summary>
/// The one way the SDK checks JSON strings before turning them into .NET strings.
/// System.Text.Json accepts a document whose strings hold invalid UTF-8 or an unpaired surrogate
/// escape (<c>"\ud800"</c>) and only fails later, with an <see cref="InvalidOperationException"/>,
/// when such a string or member name is read. Every parser of untrusted JSON (JWT-SVID header and
/// claims, JWK Sets, SPIFFE bundles, the SPIFFE ID converters) checks here first, so bad text is a
/// parse failure of the documented type and a value the SDK accepted can always be read and written back.
/// </summary>
internal static class JsonText
{
    /// <summary>
    /// Whether every member name and string value of <paramref name="utf8Json"/> is valid Unicode.
    /// A syntax error is not judged here (true is returned): the parser that follows reports it.
    /// </summary>
    internal static bool StringsAreValid(ReadOnlySpan<byte> utf8Json, JsonReaderOptions options)
    {
        // Fast path: with no escape anywhere, every string is a slice of the input cut at ASCII
        // quotes, so valid UTF-8 input means valid strings (the usual JWT-SVID: two vectorized
        // scans instead of a tokenizing pass). Anything else takes the full pass below.
        if (utf8Json.IndexOf((byte)'\\') < 0 && Utf8.IsValid(utf8Json))
        {
            return true;
        }

        var reader = new Utf8JsonReader(utf8Json, options);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && !IsValid(ref reader))
                {
                    return false;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed JSON: left to the caller's parser, which names the problem.
        }

        return true;
    }

    /// <summary>The current string token of <paramref name="reader"/>, or false when it is not valid Unicode.</summary>
    internal static bool TryGetString(ref Utf8JsonReader reader, [NotNullWhen(true)] out string? value)
    {
        value = IsValid(ref reader) ? reader.GetString() : null;
        return value is not null;
    }

    private static bool IsValid(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return Utf8.IsValid(reader.ValueSpan);
        }

        // Unescaped text is never longer than its escaped form.
        int length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int written = reader.CopyString(buffer);
            return Utf8.IsValid(buffer.AsSpan(0, written));
        }
        catch (InvalidOperationException)
        {
            // An unpaired surrogate escape, or invalid UTF-8 next to an escape: the only way
            // System.Text.Json reports either.
            return false;
        }
        finally
        {
            // The text may be part of a bearer token.
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }
}

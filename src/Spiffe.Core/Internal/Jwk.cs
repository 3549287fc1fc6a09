using System.Buffers.Text;
using System.Text.Json;

namespace Spiffe.Internal;

/// <summary>Strict member readers for JWK and JWK Set documents (RFC 7517).</summary>
internal static class Jwk
{
    /// <summary>No duplicate members anywhere: a duplicated <c>use</c> or <c>kid</c> is ambiguous.</summary>
    internal static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false, MaxDepth = 16 };

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 16 };

    /// <summary>The string value of <paramref name="name"/>, null when absent; any other JSON type is an error.</summary>
    internal static string? GetString(JsonElement obj, string name, string where)
    {
        if (!obj.TryGetProperty(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new FormatException($"{where} has a \"{name}\" that is not a string.");
    }

    /// <summary>The base64url-decoded value of a required member.</summary>
    internal static byte[] GetBase64Url(JsonElement obj, string name, string where)
    {
        string value = GetString(obj, name, where) ?? throw new FormatException($"{where} lacks \"{name}\".");
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(value);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{where} has a \"{name}\" that is not base64url.", e);
        }

        return bytes.Length == 0 ? throw new FormatException($"{where} has an empty \"{name}\".") : bytes;
    }

    /// <summary>
    /// Parses a JSON object document; syntax errors, duplicate members and strings that are not
    /// valid Unicode (see <see cref="JsonText"/>) become <see cref="FormatException"/>.
    /// </summary>
    internal static JsonDocument ParseObject(ReadOnlySpan<byte> utf8, string what)
    {
        // First: the duplicate-member check of JsonDocument.Parse itself unescapes member names.
        if (!JsonText.StringsAreValid(utf8, ReaderOptions))
        {
            throw new FormatException($"The {what} holds a string that is not valid Unicode (invalid UTF-8 or an unpaired surrogate escape).");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray(), DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new FormatException($"The {what} is not valid JSON ({e.Message}).", e);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new FormatException($"The {what} is not a JSON object.");
        }

        return document;
    }
}

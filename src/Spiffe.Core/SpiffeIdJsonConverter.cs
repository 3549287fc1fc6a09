using System.Text.Json;
using System.Text.Json.Serialization;

namespace Spiffe;

/// <summary>Reads and writes a <see cref="SpiffeId"/> as its JSON string form, strictly parsed.</summary>
public sealed class SpiffeIdJsonConverter : JsonConverter<SpiffeId>
{
    /// <inheritdoc/>
    public override SpiffeId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"A SPIFFE ID must be a JSON string, not {reader.TokenType}.");
        }

        try
        {
            return Spiffe.Internal.JsonText.TryGetString(ref reader, out string? text)
                ? SpiffeId.Parse(text)
                : throw new JsonException("The JSON string is not valid Unicode (invalid UTF-8 or an unpaired surrogate escape).");
        }
        catch (FormatException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, SpiffeId value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.ToString());
    }
}

using System.Collections;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;

namespace Spiffe.Testing;

/// <summary>Turns the claims returned by a test's validation hook into the <c>google.protobuf.Struct</c> on the wire.</summary>
internal static class ProtobufClaims
{
    private const int MaxDepth = 32;

    public static Struct ToStruct(IEnumerable<KeyValuePair<string, object?>> claims)
    {
        var result = new Struct();
        foreach ((string key, object? value) in claims)
        {
            result.Fields[key] = ToValue(value, 0);
        }

        return result;
    }

    private static Value ToValue(object? value, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new ArgumentException("Claims are nested too deeply (a cycle?).", nameof(value));
        }

        switch (value)
        {
            case null:
                return Value.ForNull();
            case Value protobufValue:
                return protobufValue;
            case string text:
                return Value.ForString(text);
            case bool flag:
                return Value.ForBool(flag);
            case JsonElement json:
                return FromJson(json, depth);
            case DateTimeOffset instant:
                return Value.ForNumber(instant.ToUnixTimeSeconds());
            case byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal:
                return Value.ForNumber(Convert.ToDouble(value, CultureInfo.InvariantCulture));
            case IEnumerable<KeyValuePair<string, object?>> map:
            {
                var nested = new Struct();
                foreach ((string key, object? item) in map)
                {
                    nested.Fields[key] = ToValue(item, depth + 1);
                }

                return Value.ForStruct(nested);
            }

            case IEnumerable items:
            {
                var list = new ListValue();
                foreach (object? item in items)
                {
                    list.Values.Add(ToValue(item, depth + 1));
                }

                return new Value { ListValue = list };
            }

            default:
                return Value.ForString(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty);
        }
    }

    private static Value FromJson(JsonElement json, int depth) => json.ValueKind switch
    {
        JsonValueKind.String => Value.ForString(json.GetString()!),
        JsonValueKind.Number => Value.ForNumber(json.GetDouble()),
        JsonValueKind.True => Value.ForBool(true),
        JsonValueKind.False => Value.ForBool(false),
        JsonValueKind.Object => Value.ForStruct(ObjectFromJson(json, depth)),
        JsonValueKind.Array => new Value { ListValue = ArrayFromJson(json, depth) },
        _ => Value.ForNull(),
    };

    private static Struct ObjectFromJson(JsonElement json, int depth)
    {
        var result = new Struct();
        foreach (JsonProperty property in json.EnumerateObject())
        {
            result.Fields[property.Name] = ToValue(property.Value, depth + 1);
        }

        return result;
    }

    private static ListValue ArrayFromJson(JsonElement json, int depth)
    {
        var result = new ListValue();
        foreach (JsonElement item in json.EnumerateArray())
        {
            result.Values.Add(ToValue(item, depth + 1));
        }

        return result;
    }
}

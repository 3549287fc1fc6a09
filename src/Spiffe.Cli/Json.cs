using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Spiffe.Cli;

/// <summary>Writes one JSON document (indented) to a text writer; reflection-free.</summary>
internal static class Json
{
    // The default encoder escapes '+' (\u002B in every timestamp offset and PEM), '<', '>', '&' and "'" for
    // embedding in HTML; this output goes to a terminal or a script, so only what JSON requires is escaped.
    private static readonly JavaScriptEncoder s_encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    public static async Task WriteAsync(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = s_encoder }))
        {
            write(writer);
        }

        await output.WriteLineAsync(Encoding.UTF8.GetString(buffer.ToArray())).ConfigureAwait(false);
    }
}

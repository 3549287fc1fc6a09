using System.Text;
using System.Text.Json;

namespace Spiffe.Cli;

/// <summary>Writes one JSON document (indented) to a text writer; reflection-free.</summary>
internal static class Json
{
    public static async Task WriteAsync(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            write(writer);
        }

        await output.WriteLineAsync(Encoding.UTF8.GetString(buffer.ToArray())).ConfigureAwait(false);
    }
}

using System.Text;

namespace Spiffe.Cli;

/// <summary>Writes a file so that readers see the old content or the new, never a mix: a temp file in the same directory, then a rename.</summary>
internal static class AtomicFile
{
    public static string Write(string directory, string name, string content, bool secret)
    {
        string target = Path.Combine(directory, name);
        string temp = Path.Combine(directory, $".{name}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // The key file is created 0600 from the start: no window where others can read it.
            options.UnixCreateMode = secret
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(Encoding.ASCII.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        return name;
    }
}

using System.Text;

namespace Spiffe.Cli;

/// <summary>Writes a file so that readers see the old content or the new, never a mix: a temp file in the same directory, then a rename.</summary>
internal static class AtomicFile
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static string Write(string directory, string name, string content, bool secret)
    {
        Write(directory, name, Encoding.ASCII.GetBytes(content), secret ? OwnerOnly : OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return name;
    }

    /// <summary>
    /// Writes <paramref name="content"/> to a temp file in <paramref name="directory"/> created owner-only, flushes it to
    /// disk (fsync), sets <paramref name="mode"/> on it explicitly (so the umask cannot change it and a mode changed in the
    /// configuration applies on the next write), then renames it over <paramref name="name"/>.
    /// </summary>
    public static void Write(string directory, string name, ReadOnlySpan<byte> content, UnixFileMode mode)
    {
        string target = Path.Combine(directory, name);
        string temp = Path.Combine(directory, $".{name}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Created owner-only: no window where others can read a key before its mode is set.
            options.UnixCreateMode = OwnerOnly;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, mode);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}

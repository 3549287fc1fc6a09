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
        string temp = Stage(directory, name, content, mode);
        try
        {
            File.Move(temp, Path.Combine(directory, name), overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// Writes files that belong together (a key and its certificate) so that they change together or
    /// not at all: every file is staged and flushed first (nothing is replaced if one cannot be), then
    /// each is renamed into place; if a rename fails, the files already replaced get their previous
    /// content back, so a new key never sits next to an old certificate.
    /// </summary>
    public static void WriteAll(string directory, IReadOnlyList<(string Name, byte[] Content, UnixFileMode Mode)> files)
    {
        // What is there now, to put back if a later rename fails.
        var previous = new (byte[] Content, UnixFileMode Mode)?[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            string target = Path.Combine(directory, files[i].Name);
            previous[i] = File.Exists(target)
                ? (File.ReadAllBytes(target), OperatingSystem.IsWindows() ? files[i].Mode : File.GetUnixFileMode(target))
                : null;
        }

        var temps = new List<string>(files.Count);
        try
        {
            foreach ((string name, byte[] content, UnixFileMode mode) in files)
            {
                temps.Add(Stage(directory, name, content, mode));
            }
        }
        catch
        {
            temps.ForEach(File.Delete);
            throw;
        }

        int renamed = 0;
        try
        {
            for (; renamed < files.Count; renamed++)
            {
                File.Move(temps[renamed], Path.Combine(directory, files[renamed].Name), overwrite: true);
            }
        }
        catch
        {
            for (int i = renamed; i < temps.Count; i++)
            {
                File.Delete(temps[i]);
            }

            for (int i = renamed - 1; i >= 0; i--)
            {
                Restore(directory, files[i].Name, previous[i]);
            }

            throw;
        }
    }

    private static void Restore(string directory, string name, (byte[] Content, UnixFileMode Mode)? previous)
    {
        try
        {
            if (previous is { } old)
            {
                Write(directory, name, old.Content, old.Mode);
            }
            else
            {
                File.Delete(Path.Combine(directory, name));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original failure is what gets reported; this file keeps the new content.
        }
    }

    private static string Stage(string directory, string name, ReadOnlySpan<byte> content, UnixFileMode mode)
    {
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

            return temp;
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}

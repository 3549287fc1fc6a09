using System.Globalization;

namespace Spiffe.Soak;

/// <summary>One reading of a Linux process: resident memory, threads and open descriptors, from /proc.</summary>
internal readonly record struct ProcessMemory(long RssKiB, int Threads, int Descriptors)
{
    public static ProcessMemory Read(string pid = "self")
    {
        long rss = 0;
        int threads = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
        }

        // Enumerating the directory opens one descriptor itself; it is the same one every time.
        int descriptors = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        return new ProcessMemory(rss, threads, descriptors);
    }
}

using System.Runtime.InteropServices;

namespace Spiffe.Soak;

/// <summary>
/// glibc's own account of the process's malloc heap (mallinfo2, all arenas): what is allocated and
/// live, and what is free but kept by the allocator. OpenSSL allocates with malloc, the GC does not,
/// so a native leak (certificates, TLS contexts) grows the bytes in use, while growth of RSS
/// with flat bytes in use is memory the allocator keeps (fragmentation, arenas).
/// </summary>
internal static partial class NativeHeap
{
    /// <summary>
    /// Bytes allocated and not freed (uordblks + hblkhd) and bytes free but kept (fordblks); both -1
    /// when mallinfo2 is unavailable (not glibc 2.33 or later).
    /// </summary>
    public static (long InUse, long Free) Read()
    {
        try
        {
            MallInfo2 info = MallInfo2Native();
            return ((long)(info.Uordblks + info.Hblkhd), (long)info.Fordblks);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return (-1, -1);
        }
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2 MallInfo2Native();

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena;
        public nuint Ordblks;
        public nuint Smblks;
        public nuint Hblks;
        public nuint Hblkhd;
        public nuint Usmblks;
        public nuint Fsmblks;
        public nuint Uordblks;
        public nuint Fordblks;
        public nuint Keepcost;
    }
}

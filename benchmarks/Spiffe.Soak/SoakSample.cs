namespace Spiffe.Soak;

/// <summary>One row of the soak's table: the server's own reading and the load's counters at that moment.</summary>
internal sealed record SoakSample
{
    public double Seconds { get; init; }

    public ProcessMemory Server { get; init; }

    public long HeapBytes { get; init; }

    public int Gen2Collections { get; init; }

    /// <summary>The server's live malloc memory after the collection (see <see cref="NativeHeap"/>); -1 if unknown.</summary>
    public long NativeInUseBytes { get; init; }

    /// <summary>Free memory the server's allocator keeps; -1 if unknown.</summary>
    public long NativeFreeBytes { get; init; }

    public long ServerRequests { get; init; }

    public long ServerUpdates { get; init; }

    public ProcessMemory Load { get; init; }

    public long NewConnectionOk { get; init; }

    public long KeepAliveOk { get; init; }

    public long Failed { get; init; }

    public long Rotations { get; init; }

    public long Restarts { get; init; }

    public long MalformedPushes { get; init; }
}

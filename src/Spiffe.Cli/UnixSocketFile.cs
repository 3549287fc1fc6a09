using System.Net.Sockets;

namespace Spiffe.Cli;

/// <summary>What is at a Unix socket path: nothing, a live listener, a socket left by a stopped process, or something else.</summary>
internal enum UnixSocketFileState
{
    /// <summary>Nothing at the path (its directory exists).</summary>
    Absent,

    /// <summary>The directory that should hold the socket does not exist.</summary>
    DirectoryMissing,

    /// <summary>A process accepts connections on it.</summary>
    Listening,

    /// <summary>A socket file nobody listens on any more (left by a process that stopped without removing it).</summary>
    Stale,

    /// <summary>A socket this user may not connect to, so whether it is live cannot be known.</summary>
    AccessDenied,

    /// <summary>A regular file, a directory or a device: not a socket.</summary>
    NotASocket,
}

/// <summary>Inspects a Unix socket path before listening on it or to explain why connecting to it failed.</summary>
internal static class UnixSocketFile
{
    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(5);

    public static async Task<UnixSocketFileState> InspectAsync(string path, CancellationToken cancellationToken)
    {
        if (Directory.Exists(path))
        {
            return UnixSocketFileState.NotASocket;
        }

        if (!File.Exists(path))
        {
            string? directory = Path.GetDirectoryName(path);
            return directory is null || Directory.Exists(directory) ? UnixSocketFileState.Absent : UnixSocketFileState.DirectoryMissing;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_probeTimeout);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token).ConfigureAwait(false);
            return UnixSocketFileState.Listening;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A listener whose backlog is full: it is there, only busy.
            return UnixSocketFileState.Listening;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AccessDenied)
        {
            return UnixSocketFileState.AccessDenied;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused)
        {
            // Linux refuses a connection both to a socket nobody listens on and to a file that is no socket.
            return IsSocket(path) ? UnixSocketFileState.Stale : UnixSocketFileState.NotASocket;
        }
    }

    /// <summary>
    /// .NET does not expose the file type; open(2) tells: it fails with ENXIO on a socket and succeeds on a
    /// regular file or a device.
    /// </summary>
    private static bool IsSocket(string path)
    {
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            // Unreadable: certainly not ours to replace.
            return false;
        }
    }
}

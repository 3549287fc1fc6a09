namespace Spiffe.Testing;

/// <summary>Where and how a <see cref="WorkloadApiServer"/> listens.</summary>
public sealed class WorkloadApiServerOptions
{
    /// <summary>
    /// The Unix domain socket to listen on. <see langword="null"/> (the default) means a socket named
    /// <c>agent.sock</c> in a fresh temporary directory that the server deletes when disposed.
    /// Ignored when <see cref="UseTcp"/> is set; setting both is an error.
    /// </summary>
    public string? SocketPath { get; set; }

    /// <summary>
    /// Listen on TCP <c>127.0.0.1</c> with a port chosen by the operating system instead of a Unix
    /// socket. The port is kept across <see cref="WorkloadApiServer.RestartAsync"/>.
    /// </summary>
    public bool UseTcp { get; set; }

    /// <summary>
    /// The permissions of the Unix socket file, set after the socket is bound and before it accepts
    /// connections, so no other user can connect in between. Default: owner read and write (0600),
    /// since every caller on the socket gets the served identities. Ignored on Windows and in TCP mode.
    /// </summary>
    public UnixFileMode SocketFileMode { get; set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The clock that stamps <see cref="RecordedCall.ReceivedAt"/>; <see cref="TimeProvider.System"/> when <see langword="null"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }
}

namespace Spiffe.Testing;

/// <summary>Options of a <see cref="DevelopmentAgent"/>.</summary>
public sealed class DevelopmentAgentOptions
{
    /// <summary>The trust domain the agent issues identities in. Required.</summary>
    public TrustDomain? TrustDomain { get; set; }

    /// <summary>The SPIFFE IDs to issue; the first is the default identity. At least one.</summary>
    public IList<SpiffeId> Ids { get; } = [];

    /// <summary>The Unix socket path to listen on; null: a fresh temporary directory.</summary>
    public string? SocketPath { get; set; }

    /// <summary>
    /// The permissions of the socket file. Default: owner read and write (0600): every caller on the
    /// socket gets every identity, so only the owner may connect unless this is widened.
    /// </summary>
    public UnixFileMode SocketFileMode { get; set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The lifetime of each X509-SVID. Default 1 hour.</summary>
    public TimeSpan SvidTimeToLive { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often new X509-SVIDs are issued. Default: half of <see cref="SvidTimeToLive"/>, like SPIRE.</summary>
    public TimeSpan? RotationInterval { get; set; }

    /// <summary>The lifetime of each JWT-SVID. Default 5 minutes.</summary>
    public TimeSpan JwtSvidTimeToLive { get; set; } = TimeSpan.FromMinutes(5);
}

namespace Spiffe.AspNetCore;

/// <summary>
/// How <c>AddSpiffe()</c> runs the workload's SPIFFE sources, bound from the <c>Spiffe</c>
/// configuration section and validated when the host starts (an invalid value fails the start with
/// a message naming its configuration key and what is allowed).
/// </summary>
/// <remarks>
/// <code>
/// "Spiffe": {
///   "WorkloadApi": { "Address": "unix:///run/spire/agent.sock" },
///   "StartTimeout": "00:00:30",
///   "Sources": { "X509": true, "Jwt": true },
///   "Jwt": { "PrefetchAudiences": [ "spiffe://example.org/backend" ] },
///   "Authorization": { "AllowedIds": [ "spiffe://example.org/frontend" ] }
/// }
/// </code>
/// </remarks>
public sealed class SpiffeOptions
{
    /// <summary>The configuration section <c>AddSpiffe()</c> binds: <c>Spiffe</c>.</summary>
    public const string SectionName = "Spiffe";

    /// <summary>Where the Workload API is and how its streams retry (<c>Spiffe:WorkloadApi</c>).</summary>
    public SpiffeWorkloadApiOptions WorkloadApi { get; set; } = new();

    /// <summary>
    /// How long the host waits at start for every enabled source's first state (<c>Spiffe:StartTimeout</c>).
    /// Default 30 s; more than 0, at most 1 day.
    /// </summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When true, the host starts even though a source has no state within <see cref="StartTimeout"/>
    /// (<c>Spiffe:AllowDegradedStart</c>): the sources keep retrying, TLS handshakes fail until an SVID
    /// arrives, and the health check reports Unhealthy meanwhile. Default false: the start fails with the
    /// root cause (e.g. "connection refused").
    /// </summary>
    public bool AllowDegradedStart { get; set; }

    /// <summary>Which sources the host runs and waits for (<c>Spiffe:Sources</c>).</summary>
    public SpiffeSourcesOptions Sources { get; set; } = new();

    /// <summary>Which X509-SVID to present when the agent issues several (<c>Spiffe:X509</c>).</summary>
    public SpiffeX509Options X509 { get; set; } = new();

    /// <summary>JWT-SVID settings (<c>Spiffe:Jwt</c>).</summary>
    public SpiffeJwtOptions Jwt { get; set; } = new();

    /// <summary>
    /// The X509-SVID from files instead of the Workload API (<c>Spiffe:Files</c>): set <see cref="SpiffeFilesOptions.Directory"/>
    /// to run a <c>FileX509Source</c> in place of the <c>X509Source</c>. Not set by default.
    /// </summary>
    public SpiffeFilesOptions Files { get; set; } = new();

    /// <summary>Which peers the configured mutual-TLS endpoints admit (<c>Spiffe:Authorization</c>); nobody by default.</summary>
    public SpiffeAuthorizationOptions Authorization { get; set; } = new();
}

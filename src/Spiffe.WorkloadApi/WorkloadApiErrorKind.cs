namespace Spiffe.WorkloadApi;

/// <summary>What went wrong talking to the Workload API; decides whether a watch retries.</summary>
public enum WorkloadApiErrorKind
{
    /// <summary>The address or options are invalid; nothing was attempted. Not retried.</summary>
    Configuration,

    /// <summary>The endpoint could not be reached (no socket, connection refused) or answered <c>Unavailable</c>. Retried with backoff.</summary>
    Unavailable,

    /// <summary>The agent has no identity for this workload (<c>PermissionDenied</c>). Retried with backoff; SVIDs are withdrawn meanwhile.</summary>
    PermissionDenied,

    /// <summary>The agent rejected the request (<c>InvalidArgument</c>, e.g. the security header is missing). Not retried.</summary>
    InvalidArgument,

    /// <summary>The endpoint does not implement the method (<c>Unimplemented</c>). Not retried.</summary>
    Unimplemented,

    /// <summary>The server ended a stream that should stay open. Retried with backoff.</summary>
    StreamEnded,

    /// <summary>A response broke the Workload API rules and was discarded; the previous state stays in force.</summary>
    MalformedResponse,

    /// <summary>Any other gRPC status. Retried with backoff.</summary>
    Other,
}

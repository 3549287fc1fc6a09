using Grpc.Core;

namespace Spiffe.WorkloadApi;

/// <summary>An error talking to the Workload API, with its kind and gRPC status when there is one.</summary>
public class WorkloadApiException : SpiffeException
{
    /// <summary>Creates an exception.</summary>
    public WorkloadApiException(WorkloadApiErrorKind kind, string message, Exception? innerException = null, StatusCode? statusCode = null)
        : base(message, innerException)
    {
        Kind = kind;
        StatusCode = statusCode;
    }

    /// <summary>What went wrong.</summary>
    public WorkloadApiErrorKind Kind { get; }

    /// <summary>The gRPC status the server answered with, when the error came from one.</summary>
    public StatusCode? StatusCode { get; }

    /// <summary>Whether a watch retries after this error (with backoff) rather than stopping.</summary>
    public bool IsRetryable => Kind is WorkloadApiErrorKind.Unavailable or WorkloadApiErrorKind.PermissionDenied
        or WorkloadApiErrorKind.StreamEnded or WorkloadApiErrorKind.Other;
}

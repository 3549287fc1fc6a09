using System.Net.Sockets;
using Grpc.Core;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>Turns gRPC and socket failures into <see cref="WorkloadApiException"/>s that name the root cause.</summary>
internal static class Errors
{
    public static WorkloadApiException FromRpc(RpcException e, WorkloadApiAddress address, string operation)
    {
        WorkloadApiErrorKind kind = e.StatusCode switch
        {
            StatusCode.Unavailable => WorkloadApiErrorKind.Unavailable,
            StatusCode.PermissionDenied => WorkloadApiErrorKind.PermissionDenied,
            StatusCode.InvalidArgument => WorkloadApiErrorKind.InvalidArgument,
            StatusCode.Unimplemented => WorkloadApiErrorKind.Unimplemented,
            _ => WorkloadApiErrorKind.Other,
        };

        SocketException? socketError = FindSocketException(e);
        string message = socketError is not null
            ? $"{operation}: cannot connect to the Workload API at {address}: {Describe(socketError)}."
            : $"{operation}: the Workload API at {address} answered {e.StatusCode}: {Detail(e)}.";
        return new WorkloadApiException(kind, message, e, e.StatusCode);
    }

    public static WorkloadApiException StreamEnded(WorkloadApiAddress address, string operation) =>
        new(WorkloadApiErrorKind.StreamEnded, $"{operation}: the Workload API at {address} ended the stream.", statusCode: StatusCode.OK);

    public static WorkloadApiException Malformed(WorkloadApiAddress address, string operation, string reason, Exception? inner = null) =>
        new(WorkloadApiErrorKind.MalformedResponse, $"{operation}: discarded a malformed response from {address}: {reason}", inner);

    /// <summary>A fault the watch did not foresee: retried with backoff (kind <see cref="WorkloadApiErrorKind.Other"/>).</summary>
    public static WorkloadApiException Unexpected(WorkloadApiAddress address, string operation, Exception e) =>
        new(WorkloadApiErrorKind.Other, $"{operation}: the watch of the Workload API at {address} failed unexpectedly ({e.GetType().Name}: {e.Message}); reopening the stream.", e);

    /// <summary>The client was disposed while a watch used it: the watch ends (not retryable).</summary>
    public static WorkloadApiException ClientDisposed(WorkloadApiAddress address, string operation, Exception e) =>
        new(WorkloadApiErrorKind.Configuration, $"{operation}: the WorkloadApiClient for {address} was disposed while a watch used it; the watch ends.", e);

    private static string Detail(RpcException e) =>
        string.IsNullOrEmpty(e.Status.Detail) ? "(no detail)" : e.Status.Detail.TrimEnd('.');

    private static SocketException? FindSocketException(RpcException e)
    {
        for (Exception? current = e.Status.DebugException ?? e.InnerException; current is not null; current = current.InnerException)
        {
            if (current is SocketException socketException)
            {
                return socketException;
            }
        }

        return null;
    }

    private static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused (is the agent running?)",
        SocketError.AddressNotAvailable => "the socket does not exist (is the agent running, is the path right?)",
        SocketError.AccessDenied => "permission denied on the socket",
        SocketError.TimedOut => "the connection timed out",
        _ => $"{e.Message} ({e.SocketErrorCode})",
    };
}

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// Runs one Workload API stream for as long as it is wanted: reopens it after errors and ends with
/// exponential backoff (an ended stream also backs off, never a tight loop), discards malformed
/// messages, and stops on errors that retrying cannot fix (InvalidArgument, Unimplemented).
/// </summary>
/// <remarks>
/// Nothing but cancellation and a non-retryable error ends a watch. A message whose parsing throws
/// anything, even an exception type the parser does not document, is a discarded message; any
/// other unexpected fault (in the transport, or in a watcher that broke its contract and threw) is
/// logged with its stack and the stream is reopened with the same backoff as an ended stream.
/// </remarks>
internal static class StreamWatch
{
    /// <summary>Watches until <paramref name="cancellationToken"/> fires (returns) or a non-retryable error (throws it).</summary>
    public static async Task RunAsync<TResponse, TUpdate>(
        WorkloadApiConnection connection,
        string operation,
        Func<CallOptions, AsyncServerStreamingCall<TResponse>> open,
        Func<TResponse, TUpdate> parse,
        IWorkloadApiWatcher<TUpdate> watcher,
        WorkloadApiRetryOptions retry,
        TimeProvider timeProvider,
        Action<WorkloadApiException>? onRestart,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var backoff = new Backoff(retry);
        while (!cancellationToken.IsCancellationRequested)
        {
            WorkloadApiException error;

            // One span per (re)connect, ended by the first message: the stream itself lives for hours.
            Activity? connecting = WorkloadApiActivity.Start(operation, connection.Address);
            try
            {
                using AsyncServerStreamingCall<TResponse> call = open(connection.CallOptions(cancellationToken));
                while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    connecting?.Dispose();
                    connecting = null;
                    if (!TryParse(connection, operation, parse, call.ResponseStream.Current, logger, out TUpdate? update, out WorkloadApiException? malformed))
                    {
                        watcher.OnError(malformed);
                        continue;
                    }

                    backoff.Reset();
                    watcher.OnUpdate(update);
                }

                error = Errors.StreamEnded(connection.Address, operation);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                error = Errors.FromRpc(e, connection.Address, operation);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                connecting?.Dispose();
                return;
            }
            catch (Exception e) when (connection.IsDisposed)
            {
                // The client was disposed under the watch: no retry can succeed.
                error = Errors.ClientDisposed(connection.Address, operation, e);
            }
#pragma warning disable CA1031 // The one place a watch survives what it did not foresee; logged with its stack.
            catch (Exception e)
#pragma warning restore CA1031
            {
                WorkloadApiLog.WatchFaulted(logger, operation, connection.Address.ToString(), e);
                error = Errors.Unexpected(connection.Address, operation, e);
            }

            WorkloadApiActivity.Fail(connecting, error);
            connecting?.Dispose();
            watcher.OnError(error);
            if (!error.IsRetryable)
            {
                throw error;
            }

            onRestart?.Invoke(error);
            try
            {
                await Task.Delay(backoff.Next(), timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Parses one message. Any failure is a discarded message: the parser's own
    /// <see cref="WorkloadApiException"/>, or (a parser bug) any other exception, which is also logged with its stack.
    /// </summary>
    private static bool TryParse<TResponse, TUpdate>(
        WorkloadApiConnection connection,
        string operation,
        Func<TResponse, TUpdate> parse,
        TResponse message,
        ILogger? logger,
        [MaybeNullWhen(false)] out TUpdate update,
        [NotNullWhen(false)] out WorkloadApiException? malformed)
    {
        try
        {
            update = parse(message);
            malformed = null;
            return true;
        }
        catch (WorkloadApiException e) when (e.Kind == WorkloadApiErrorKind.MalformedResponse)
        {
            malformed = e;
        }
#pragma warning disable CA1031 // An undocumented parse failure must cost one message, never the watch.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            if (logger is not null)
            {
                WorkloadApiLog.ParseFaulted(logger, operation, connection.Address.ToString(), e);
            }

            malformed = Errors.Malformed(connection.Address, operation, $"parsing failed with {e.GetType().Name}: {e.Message}", e);
        }

        update = default;
        return false;
    }

    /// <summary>Reads the first valid message of a stream, without retrying: one-shot fetches surface every error.</summary>
    public static async Task<TUpdate> FirstAsync<TResponse, TUpdate>(
        WorkloadApiConnection connection,
        string operation,
        Func<CallOptions, AsyncServerStreamingCall<TResponse>> open,
        Func<TResponse, TUpdate> parse,
        CancellationToken cancellationToken)
    {
        using Activity? activity = WorkloadApiActivity.Start(operation, connection.Address);
        try
        {
            using AsyncServerStreamingCall<TResponse> call = open(connection.CallOptions(cancellationToken));
            if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                throw Errors.StreamEnded(connection.Address, operation);
            }

            return TryParse(connection, operation, parse, call.ResponseStream.Current, logger: null, out TUpdate? update, out WorkloadApiException? malformed)
                ? update
                : throw malformed;
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            WorkloadApiException error = Errors.FromRpc(e, connection.Address, operation);
            WorkloadApiActivity.Fail(activity, error);
            throw error;
        }
        catch (WorkloadApiException e)
        {
            WorkloadApiActivity.Fail(activity, e);
            throw;
        }
    }
}

using System.Diagnostics;
using Grpc.Core;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// Runs one Workload API stream for as long as it is wanted: reopens it after errors and ends with
/// exponential backoff (an ended stream also backs off, never a tight loop), discards malformed
/// messages, and stops on errors that retrying cannot fix (InvalidArgument, Unimplemented).
/// </summary>
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
                    TUpdate update;
                    try
                    {
                        update = parse(call.ResponseStream.Current);
                    }
                    catch (WorkloadApiException malformed)
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

            return parse(call.ResponseStream.Current);
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

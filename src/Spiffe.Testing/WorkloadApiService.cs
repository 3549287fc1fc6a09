using Google.Protobuf;
using Grpc.Core;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.Testing;

/// <summary>The gRPC service behind <see cref="WorkloadApiServer"/>; behaves like a SPIRE agent where clients depend on it.</summary>
internal sealed class WorkloadApiService(WorkloadApiServerState state) : SpiffeWorkloadAPI.SpiffeWorkloadAPIBase
{
    public override Task FetchX509SVID(X509SVIDRequest request, IServerStreamWriter<X509SVIDResponse> responseStream, ServerCallContext context)
        => StreamAsync(WorkloadApiMethod.FetchX509Svid, responseStream, context);

    public override Task FetchX509Bundles(X509BundlesRequest request, IServerStreamWriter<X509BundlesResponse> responseStream, ServerCallContext context)
        => StreamAsync(WorkloadApiMethod.FetchX509Bundles, responseStream, context);

    public override Task FetchJWTBundles(JWTBundlesRequest request, IServerStreamWriter<JWTBundlesResponse> responseStream, ServerCallContext context)
        => StreamAsync(WorkloadApiMethod.FetchJwtBundles, responseStream, context);

    public override Task<JWTSVIDResponse> FetchJWTSVID(JWTSVIDRequest request, ServerCallContext context)
    {
        string? spiffeId = request.SpiffeId.Length == 0 ? null : request.SpiffeId;
        string[] audiences = [.. request.Audience];
        state.Admit(WorkloadApiMethod.FetchJwtSvid, context, audiences, spiffeId, token: null);
        if (audiences.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "audience must be specified"));
        }

        Func<JwtSvidRequestInfo, IReadOnlyList<WorkloadApiJwtSvid>> minter = state.JwtSvidMinter
            ?? throw new RpcException(new Status(StatusCode.PermissionDenied, WorkloadApiServerState.NoIdentityDetail));

        // The hook runs outside the state lock: it may be slow or call back into the server.
        IReadOnlyList<WorkloadApiJwtSvid> svids = minter(new JwtSvidRequestInfo(audiences, spiffeId));
        var response = new JWTSVIDResponse();
        foreach (WorkloadApiJwtSvid svid in svids)
        {
            response.Svids.Add(new JWTSVID
            {
                SpiffeId = svid.SpiffeId ?? string.Empty,
                Svid = svid.Token ?? string.Empty,
                Hint = svid.Hint ?? string.Empty,
            });
        }

        return Task.FromResult(response);
    }

    public override Task<ValidateJWTSVIDResponse> ValidateJWTSVID(ValidateJWTSVIDRequest request, ServerCallContext context)
    {
        string[] audiences = request.Audience.Length == 0 ? [] : [request.Audience];
        state.Admit(WorkloadApiMethod.ValidateJwtSvid, context, audiences, spiffeId: null, token: request.Svid.Length == 0 ? null : request.Svid);
        if (request.Audience.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "audience must be specified"));
        }

        if (request.Svid.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "svid must be specified"));
        }

        var validator = state.JwtSvidValidator
            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "token validation failed: the test server has no JWT-SVID validator"));

        (string SpiffeId, IDictionary<string, object?> Claims) result;
        try
        {
            result = validator(request.Svid, request.Audience);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception exception)
        {
            // SPIRE answers every validation failure with InvalidArgument and the reason.
            throw new RpcException(new Status(StatusCode.InvalidArgument, "token validation failed: " + exception.Message));
        }

        return Task.FromResult(new ValidateJWTSVIDResponse
        {
            SpiffeId = result.SpiffeId ?? string.Empty,
            Claims = ProtobufClaims.ToStruct(result.Claims ?? new Dictionary<string, object?>()),
        });
    }

    private async Task StreamAsync<TResponse>(WorkloadApiMethod method, IServerStreamWriter<TResponse> responseStream, ServerCallContext context)
        where TResponse : class, IMessage
    {
        state.Admit(method, context, [], spiffeId: null, token: null);
        CancellationToken stopping = state.Stopping;
        StreamSubscriber subscriber = state.Subscribe(method)
            ?? throw new RpcException(new Status(StatusCode.PermissionDenied, WorkloadApiServerState.NoIdentityDetail));
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping);
            while (await subscriber.Commands.WaitToReadAsync(linked.Token).ConfigureAwait(false))
            {
                while (subscriber.Commands.TryRead(out StreamCommand command))
                {
                    if (command.End is { } status)
                    {
                        if (status.StatusCode == StatusCode.OK)
                        {
                            return;
                        }

                        throw new RpcException(status);
                    }

                    await responseStream.WriteAsync((TResponse)command.Message!, linked.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "workload API server stopping"));
        }
        finally
        {
            state.Unsubscribe(subscriber);
        }
    }
}

using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.Testing.Tests;

/// <summary>A raw gRPC client of the Workload API for an address in SPIFFE_ENDPOINT_SOCKET form.</summary>
internal sealed class WorkloadApiTestClient : IDisposable
{
    private readonly SocketsHttpHandler _handler;
    private readonly GrpcChannel _channel;

    public WorkloadApiTestClient(string address)
    {
        // A ConnectCallback for both transports, as the SDK client does: it also keeps grpc-dotnet's
        // subchannel balancer (and its reconnect backoff) out of these tests.
        EndPoint endPoint;
        if (address.StartsWith("unix://", StringComparison.Ordinal))
        {
            endPoint = new UnixDomainSocketEndPoint(address["unix://".Length..]);
        }
        else
        {
            Assert.StartsWith("tcp://", address);
            endPoint = IPEndPoint.Parse(address["tcp://".Length..]);
        }

        _handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(endPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        string httpAddress = "http://localhost";
        _channel = GrpcChannel.ForAddress(httpAddress, new GrpcChannelOptions { HttpHandler = _handler });
        Client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(_channel);
    }

    public SpiffeWorkloadAPI.SpiffeWorkloadAPIClient Client { get; }

    /// <summary>The status of the last failed <see cref="CallOnceAsync"/>, for assertion messages.</summary>
    public Status? LastFailure { get; private set; }

    /// <summary>The metadata every compliant client sends.</summary>
    public static Metadata SecurityHeader => new() { { "workload.spiffe.io", "true" } };

    /// <summary>Calls <paramref name="method"/> once and returns the status (OK if a stream delivered its first message).</summary>
    public async Task<StatusCode> CallOnceAsync(WorkloadApiMethod method, Metadata headers, CancellationToken cancellationToken)
    {
        try
        {
            switch (method)
            {
                case WorkloadApiMethod.FetchX509Svid:
                {
                    using var call = Client.FetchX509SVID(new X509SVIDRequest(), headers, cancellationToken: cancellationToken);
                    Assert.True(await call.ResponseStream.MoveNext(cancellationToken));
                    break;
                }

                case WorkloadApiMethod.FetchX509Bundles:
                {
                    using var call = Client.FetchX509Bundles(new X509BundlesRequest(), headers, cancellationToken: cancellationToken);
                    Assert.True(await call.ResponseStream.MoveNext(cancellationToken));
                    break;
                }

                case WorkloadApiMethod.FetchJwtBundles:
                {
                    using var call = Client.FetchJWTBundles(new JWTBundlesRequest(), headers, cancellationToken: cancellationToken);
                    Assert.True(await call.ResponseStream.MoveNext(cancellationToken));
                    break;
                }

                case WorkloadApiMethod.FetchJwtSvid:
                    await Client.FetchJWTSVIDAsync(new JWTSVIDRequest { Audience = { "aud" } }, headers, cancellationToken: cancellationToken);
                    break;

                case WorkloadApiMethod.ValidateJwtSvid:
                    await Client.ValidateJWTSVIDAsync(new ValidateJWTSVIDRequest { Audience = "aud", Svid = "token" }, headers, cancellationToken: cancellationToken);
                    break;

                default:
                    throw new ArgumentOutOfRangeException(nameof(method));
            }

            return StatusCode.OK;
        }
        catch (RpcException exception)
        {
            LastFailure = exception.Status;
            return exception.StatusCode;
        }
    }

    public void Dispose()
    {
        _channel.Dispose();
        _handler.Dispose();
    }
}

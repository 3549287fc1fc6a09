using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// The gRPC channel to one Workload API endpoint: HTTP/2 cleartext (the endpoint must not require
/// TLS, SPIFFE_Workload_Endpoint.md §3.1) over a Unix socket or TCP, and the security header on
/// every call.
/// </summary>
internal sealed class WorkloadApiConnection : IDisposable
{
    internal const string SecurityHeader = "workload.spiffe.io";

    private readonly GrpcChannel _channel;
    private readonly Metadata _headers;
    private bool _disposed;

    public WorkloadApiConnection(WorkloadApiAddress address, IEnumerable<KeyValuePair<string, string>> extraMetadata)
    {
        Address = address;
        var handler = new SocketsHttpHandler
        {
            // Detect a dead agent on a long-lived stream instead of waiting forever.
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            UseProxy = false,
        };
        // Both transports connect through our own callback: the socket error reaches the caller
        // unchanged ("connection refused"), and a restarted agent is reached on the next attempt
        // instead of waiting out grpc-dotnet's own reconnect backoff. GrpcChannel.ConnectAsync must
        // then never be called (grpc-dotnet#2428): the first message means "connected".
        Uri target;
        if (address.IsUnixSocket)
        {
            var endPoint = new UnixDomainSocketEndPoint(address.UnixSocketPath);
            handler.ConnectCallback = (_, cancellationToken) => ConnectAsync(endPoint, ProtocolType.Unspecified, cancellationToken);
            target = new Uri("http://localhost");
        }
        else
        {
            System.Net.IPEndPoint endPoint = address.TcpEndPoint;
            handler.ConnectCallback = (_, cancellationToken) => ConnectAsync(endPoint, ProtocolType.Tcp, cancellationToken);
            target = new Uri($"http://{endPoint}");
        }

        _channel = GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 32 * 1024 * 1024,
        });
        Client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(_channel);

        _headers = [];
        foreach (KeyValuePair<string, string> entry in extraMetadata)
        {
            if (!string.Equals(entry.Key, SecurityHeader, StringComparison.OrdinalIgnoreCase))
            {
                _headers.Add(entry.Key, entry.Value);
            }
        }

        // SPIFFE_Workload_Endpoint.md §3: every request carries this exact header and value.
        _headers.Add(SecurityHeader, "true");
    }

    public WorkloadApiAddress Address { get; }

    public SpiffeWorkloadAPI.SpiffeWorkloadAPIClient Client { get; }

    public CallOptions CallOptions(CancellationToken cancellationToken) => new(headers: _headers, cancellationToken: cancellationToken);

    private static async ValueTask<Stream> ConnectAsync(System.Net.EndPoint endPoint, ProtocolType protocol, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, protocol);
        try
        {
            if (protocol == ProtocolType.Tcp)
            {
                socket.NoDelay = true;
            }

            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Whether <see cref="Dispose"/> was called: a watch then ends instead of retrying.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed);

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        _channel.Dispose();
    }
}

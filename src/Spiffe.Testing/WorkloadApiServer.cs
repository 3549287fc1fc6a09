using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.Testing;

/// <summary>
/// A real, in-process SPIFFE Workload API for tests: Kestrel serving the <c>SpiffeWorkloadAPI</c>
/// gRPC service over cleartext HTTP/2 on a Unix domain socket (or TCP on 127.0.0.1), behaving like a
/// SPIRE agent where clients depend on it.
/// </summary>
/// <remarks>
/// <para>
/// State is raw protocol data: the server never parses certificates, keys or tokens, so a test can
/// serve valid material from a test authority or deliberately broken material. Every <c>Set*</c> call
/// sends the new complete state to every open stream of that kind at once; a new stream first receives
/// the current state.
/// </para>
/// <para>
/// SPIRE-like rules: a request without the metadata <c>workload.spiffe.io: true</c> (exact value) fails
/// with <see cref="StatusCode.InvalidArgument"/>; a method whose state was never set (or was cleared by
/// <see cref="SetNoIdentity"/>) fails with <see cref="StatusCode.PermissionDenied"/> "no identity issued";
/// <c>FetchJWTSVID</c> without an audience and <c>ValidateJWTSVID</c> without audience or token fail with
/// <see cref="StatusCode.InvalidArgument"/>. Every call is recorded (see <see cref="Calls"/>) before any check.
/// </para>
/// <para>All members are thread-safe. State, recorded calls and injected faults survive <see cref="RestartAsync"/>.</para>
/// </remarks>
/// <example>
/// <code>
/// await using WorkloadApiServer server = await WorkloadApiServer.StartAsync();
/// server.SetX509Svids([new WorkloadApiX509Svid("spiffe://example.org/api", chainDer, keyDer, bundleDer)]);
/// Environment.SetEnvironmentVariable("SPIFFE_ENDPOINT_SOCKET", server.Address);
/// </code>
/// </example>
public sealed class WorkloadApiServer : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    private readonly WorkloadApiServerState _state;
    private readonly ConcurrentDictionary<ConnectionContext, byte> _connections = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly string? _ownedDirectory;
    private readonly bool _useTcp;
    private readonly UnixFileMode _socketFileMode;
    private int _port;
    private WebApplication? _app;
    private bool _disposed;

    private WorkloadApiServer(WorkloadApiServerState state, string? socketPath, string? ownedDirectory, bool useTcp, UnixFileMode socketFileMode)
    {
        _state = state;
        _socketFileMode = socketFileMode;
        SocketPath = socketPath;
        _ownedDirectory = ownedDirectory;
        _useTcp = useTcp;
        Address = socketPath is null ? string.Empty : "unix://" + socketPath;
    }

    /// <summary>
    /// The endpoint address in <c>SPIFFE_ENDPOINT_SOCKET</c> form: <c>unix:///abs/path/agent.sock</c> or
    /// <c>tcp://127.0.0.1:port</c>. It does not change across <see cref="RestartAsync"/>.
    /// </summary>
    public string Address { get; private set; }

    /// <summary>The absolute path of the Unix domain socket, or <see langword="null"/> in TCP mode.</summary>
    public string? SocketPath { get; }

    /// <summary>Whether the server is currently accepting calls (between start and stop).</summary>
    public bool IsRunning => Volatile.Read(ref _app) is not null;

    /// <summary>A snapshot of every call received so far, oldest first (across restarts).</summary>
    public IReadOnlyList<RecordedCall> Calls => _state.SnapshotCalls();

    /// <summary>Starts a server and returns once it accepts connections.</summary>
    /// <param name="options">Where to listen; <see langword="null"/> means a Unix socket in a fresh temporary directory.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="ArgumentException">Both <see cref="WorkloadApiServerOptions.SocketPath"/> and <see cref="WorkloadApiServerOptions.UseTcp"/> are set.</exception>
    /// <exception cref="IOException">The socket or port cannot be bound.</exception>
    public static async Task<WorkloadApiServer> StartAsync(WorkloadApiServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new WorkloadApiServerOptions();
        if (options.UseTcp && options.SocketPath is not null)
        {
            throw new ArgumentException("Set either SocketPath or UseTcp, not both.", nameof(options));
        }

        string? socketPath = null;
        string? ownedDirectory = null;
        if (!options.UseTcp)
        {
            if (options.SocketPath is null)
            {
                ownedDirectory = Directory.CreateTempSubdirectory("spiffe-workload-api-").FullName;
                socketPath = Path.Combine(ownedDirectory, "agent.sock");
            }
            else
            {
                socketPath = Path.GetFullPath(options.SocketPath);
            }
        }

        var server = new WorkloadApiServer(
            new WorkloadApiServerState(options.TimeProvider ?? TimeProvider.System), socketPath, ownedDirectory, options.UseTcp, options.SocketFileMode);
        try
        {
            await server.RestartAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Stops like an agent process going away: every connection is dropped (no graceful HTTP/2 GOAWAY), so open
    /// streams fail with <see cref="StatusCode.Unavailable"/> and new calls fail with <see cref="StatusCode.Unavailable"/>;
    /// the Unix socket file is removed. State, faults and recorded calls are kept. Does nothing if already stopped.
    /// </summary>
    /// <param name="cancellationToken">Abandons a graceful shutdown.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Stops the server if it is running and starts it again on the same socket path or TCP port, so a
    /// client can reconnect to the same <see cref="Address"/>. State, faults and recorded calls are kept.
    /// </summary>
    /// <param name="cancellationToken">Cancels the restart.</param>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
            await StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server and deletes the temporary directory it created, if any.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await StopCoreAsync(CancellationToken.None).ConfigureAwait(false);
            _state.Dispose();
            if (_ownedDirectory is not null && Directory.Exists(_ownedDirectory))
            {
                Directory.Delete(_ownedDirectory, recursive: true);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    // ---- State ---------------------------------------------------------------------------------

    /// <summary>
    /// Sets the workload's X509-SVIDs (the first is the default identity) and the federated bundles, and
    /// sends the resulting <c>X509SVIDResponse</c> to every open <c>FetchX509SVID</c> stream. An empty list is
    /// stored and sent as is (a protocol violation clients must reject); use <see cref="SetNoIdentity"/> to
    /// deny instead. Does not change the <c>FetchX509Bundles</c> state: see <see cref="SetX509Bundles"/>.
    /// </summary>
    /// <param name="svids">The SVIDs, sent unparsed in this order.</param>
    /// <param name="federatedBundles">Concatenated DER CA certificates keyed by trust domain SPIFFE ID (e.g. <c>spiffe://partner.org</c>); <see langword="null"/> sends none.</param>
    public void SetX509Svids(IReadOnlyList<WorkloadApiX509Svid> svids, IReadOnlyDictionary<string, byte[]>? federatedBundles = null)
        => _state.SetX509Svids(BuildX509SvidResponse(svids, federatedBundles));

    /// <summary>
    /// Sets the bundles served by <c>FetchX509Bundles</c> (own and federated, concatenated DER, keyed by trust
    /// domain SPIFFE ID) and sends them to every open stream of that method. An empty map is sent as is.
    /// </summary>
    /// <param name="bundles">The complete bundle map.</param>
    public void SetX509Bundles(IReadOnlyDictionary<string, byte[]> bundles)
        => _state.SetX509Bundles(BuildX509BundlesResponse(bundles));

    /// <summary>
    /// Sets the JWT bundles served by <c>FetchJWTBundles</c> (JWK Set JSON bytes keyed by trust domain SPIFFE
    /// ID) and sends them to every open stream of that method. An empty map is sent as is.
    /// </summary>
    /// <param name="jwksByTrustDomainId">The complete bundle map; the bytes are sent unparsed.</param>
    public void SetJwtBundles(IReadOnlyDictionary<string, byte[]> jwksByTrustDomainId)
        => _state.SetJwtBundles(BuildJwtBundlesResponse(jwksByTrustDomainId));

    /// <summary>
    /// Answers <c>FetchJWTSVID</c> with a fixed list of JWT-SVIDs (whatever the audience). When the request names
    /// a <c>spiffe_id</c>, only the SVIDs with that ID are returned, and none matching fails with
    /// <see cref="StatusCode.PermissionDenied"/>, as SPIRE does. Replaces any minting hook.
    /// </summary>
    /// <param name="svids">The SVIDs; tokens are sent unparsed.</param>
    public void SetJwtSvids(IReadOnlyList<WorkloadApiJwtSvid> svids)
    {
        ArgumentNullException.ThrowIfNull(svids);
        WorkloadApiJwtSvid[] fixedSvids = [.. svids];
        _state.SetJwtSvidMinter(request =>
        {
            if (request.SpiffeId is null)
            {
                return fixedSvids;
            }

            WorkloadApiJwtSvid[] matching = [.. fixedSvids.Where(s => string.Equals(s.SpiffeId, request.SpiffeId, StringComparison.Ordinal))];
            return matching.Length > 0
                ? matching
                : throw new RpcException(new Status(StatusCode.PermissionDenied, WorkloadApiServerState.NoIdentityDetail));
        });
    }

    /// <summary>
    /// Answers <c>FetchJWTSVID</c> by calling <paramref name="minter"/> with the requested audiences and SPIFFE ID;
    /// its result is returned as is. The hook may throw an <see cref="RpcException"/> to fail the call with that
    /// status. Replaces any fixed list.
    /// </summary>
    /// <param name="minter">Mints the response; called on a server thread, concurrently for concurrent calls.</param>
    /// <example>
    /// <code>
    /// server.SetJwtSvidMinter(request => [new WorkloadApiJwtSvid("spiffe://example.org/api", authority.Mint(request.Audiences))]);
    /// </code>
    /// </example>
    public void SetJwtSvidMinter(Func<JwtSvidRequestInfo, IReadOnlyList<WorkloadApiJwtSvid>> minter)
    {
        ArgumentNullException.ThrowIfNull(minter);
        _state.SetJwtSvidMinter(minter);
    }

    /// <summary>
    /// Answers <c>ValidateJWTSVID</c>: the hook receives the token and the audience and returns the SPIFFE ID and
    /// claims to send back. Throwing rejects the token with <see cref="StatusCode.InvalidArgument"/> and the
    /// exception message (an <see cref="RpcException"/> is passed through with its own status). Without a hook
    /// (<see langword="null"/>, the default) every token is rejected with <see cref="StatusCode.InvalidArgument"/>.
    /// </summary>
    /// <param name="validator">The validation hook. Claim values may be <see langword="null"/>, strings, booleans, numbers,
    /// <see cref="DateTimeOffset"/> (sent as Unix seconds), <c>System.Text.Json.JsonElement</c>, nested dictionaries or sequences.</param>
    public void SetJwtSvidValidator(Func<string, string, (string SpiffeId, IDictionary<string, object?> Claims)>? validator)
        => _state.JwtSvidValidator = validator;

    /// <summary>
    /// Makes the workload unidentified, like a SPIRE agent without registration entries for it: clears the X509-SVIDs,
    /// X.509 bundles, JWT bundles and JWT-SVIDs, ends every open stream with <see cref="StatusCode.PermissionDenied"/>
    /// "no identity issued", and fails later fetches the same way until a <c>Set*</c> method is called again.
    /// The validation hook is kept.
    /// </summary>
    public void SetNoIdentity() => _state.SetNoIdentity();

    // ---- Raw pushes ----------------------------------------------------------------------------

    /// <summary>
    /// Sends one <c>X509SVIDResponse</c> built from these fields to every open <c>FetchX509SVID</c> stream
    /// <em>without</em> storing it: a new stream still gets the stored state. For malformed-message tests
    /// (empty list, empty fields, garbage DER).
    /// </summary>
    /// <param name="svids">The SVIDs to send; may be empty.</param>
    /// <param name="federatedBundles">Federated bundles to send; <see langword="null"/> sends none.</param>
    /// <returns>How many open streams the message was sent to.</returns>
    public int PushX509SvidsRaw(IReadOnlyList<WorkloadApiX509Svid> svids, IReadOnlyDictionary<string, byte[]>? federatedBundles = null)
        => _state.Push(WorkloadApiMethod.FetchX509Svid, BuildX509SvidResponse(svids, federatedBundles));

    /// <summary>Sends one <c>X509BundlesResponse</c> to every open <c>FetchX509Bundles</c> stream without storing it.</summary>
    /// <param name="bundles">The bundle map to send; may be empty.</param>
    /// <returns>How many open streams the message was sent to.</returns>
    public int PushX509BundlesRaw(IReadOnlyDictionary<string, byte[]> bundles)
        => _state.Push(WorkloadApiMethod.FetchX509Bundles, BuildX509BundlesResponse(bundles));

    /// <summary>Sends one <c>JWTBundlesResponse</c> to every open <c>FetchJWTBundles</c> stream without storing it.</summary>
    /// <param name="jwksByTrustDomainId">The bundle map to send; may be empty.</param>
    /// <returns>How many open streams the message was sent to.</returns>
    public int PushJwtBundlesRaw(IReadOnlyDictionary<string, byte[]> jwksByTrustDomainId)
        => _state.Push(WorkloadApiMethod.FetchJwtBundles, BuildJwtBundlesResponse(jwksByTrustDomainId));

    // ---- Faults --------------------------------------------------------------------------------

    /// <summary>
    /// Makes the next <paramref name="times"/> calls of <paramref name="method"/> fail with <paramref name="code"/>
    /// before any other check (they are still recorded). Repeated calls queue up.
    /// </summary>
    /// <param name="method">The RPC to fail.</param>
    /// <param name="code">The status to fail with; must not be <see cref="StatusCode.OK"/>.</param>
    /// <param name="times">How many calls fail; at least 1.</param>
    /// <param name="detail">The status detail; a generic text when <see langword="null"/>.</param>
    public void InjectError(WorkloadApiMethod method, StatusCode code, int times, string? detail = null)
    {
        _ = method.ToPath();
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        if (code == StatusCode.OK)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "An injected error cannot be OK.");
        }

        _state.InjectError(method, new Status(code, detail ?? $"injected {code} by the test server"), times);
    }

    /// <summary>
    /// Ends the currently open streams with <paramref name="status"/>; <see cref="StatusCode.OK"/> ends them cleanly.
    /// Stored state is kept, so a client that reopens a stream gets it again.
    /// </summary>
    /// <param name="status">The status the client sees.</param>
    /// <param name="detail">The status detail.</param>
    /// <param name="method">Only streams of this method; <see langword="null"/> (the default) ends all streams.</param>
    public void EndStreams(StatusCode status, string? detail = null, WorkloadApiMethod? method = null)
        => _state.EndStreams(new Status(status, detail ?? string.Empty), method);

    // ---- Observation ---------------------------------------------------------------------------

    /// <summary>The number of open streams of <paramref name="method"/> that will receive the next push.</summary>
    /// <param name="method">A streaming RPC.</param>
    public int GetOpenStreamCount(WorkloadApiMethod method) => _state.CountOpenStreams(method);

    /// <summary>
    /// Waits until at least <paramref name="count"/> streams of <paramref name="method"/> are open, i.e. have been sent
    /// the current state and will receive pushes. Pass a token with a timeout: it waits as long as it takes.
    /// </summary>
    /// <param name="method">A streaming RPC.</param>
    /// <param name="count">The number of streams; 1 means "a stream is open".</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <exception cref="ArgumentException"><paramref name="method"/> is a unary RPC, which never has an open stream.</exception>
    public Task WaitForOpenStreamsAsync(WorkloadApiMethod method, int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (method is WorkloadApiMethod.FetchJwtSvid or WorkloadApiMethod.ValidateJwtSvid)
        {
            throw new ArgumentException($"{method} is unary and never has an open stream.", nameof(method));
        }

        return _state.WaitForOpenStreamsAsync(method, count, cancellationToken);
    }

    /// <summary>
    /// Waits until the server has received <paramref name="count"/> calls of <paramref name="method"/> (counted since
    /// start or <see cref="ClearCalls"/>) and returns the <paramref name="count"/>-th. Pass a token with a timeout.
    /// </summary>
    /// <param name="method">The RPC.</param>
    /// <param name="count">1 for the first call, 2 for the second, and so on.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <example><code>RecordedCall second = await server.WaitForCallAsync(WorkloadApiMethod.FetchX509Svid, 2, timeout.Token);</code></example>
    public Task<RecordedCall> WaitForCallAsync(WorkloadApiMethod method, int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return _state.WaitForCallAsync(method, count, cancellationToken);
    }

    /// <summary>Forgets the recorded calls; later <see cref="WaitForCallAsync"/> counts start again at 1.</summary>
    public void ClearCalls() => _state.ClearCalls();

    /// <inheritdoc/>
    public override string ToString() => $"WorkloadApiServer {Address}{(IsRunning ? string.Empty : " (stopped)")}";

    // ---- Lifecycle internals -------------------------------------------------------------------

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        if (SocketPath is not null && File.Exists(SocketPath))
        {
            // A socket file left behind (by a crash, or by Kestrel) would make the bind fail.
            File.Delete(SocketPath);
        }

        // The empty builder reads no configuration files or environment variables and logs nothing.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            if (_useTcp)
            {
                kestrel.Listen(IPAddress.Loopback, _port, ConfigureListener);
            }
            else
            {
                kestrel.ListenUnixSocket(SocketPath!, ConfigureListener);
            }
        });
        builder.Services.Configure<SocketTransportOptions>(transport => transport.CreateBoundListenSocket = CreateBoundListenSocket);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddRoutingCore();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_state);

        WebApplication app = builder.Build();
        app.MapGrpcService<WorkloadApiService>();
        _state.BeginRun();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (_useTcp)
        {
            _port = ReadBoundPort(app);
            Address = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"tcp://127.0.0.1:{_port}");
        }

        Volatile.Write(ref _app, app);
    }

    private Socket CreateBoundListenSocket(EndPoint endpoint)
    {
        Socket socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
        if (endpoint is UnixDomainSocketEndPoint && !OperatingSystem.IsWindows())
        {
            // Bound but not yet listening: nobody can connect before the mode is set (the socket file is
            // created with the process umask, typically 0755, which lets every local user in).
            try
            {
                File.SetUnixFileMode(SocketPath!, _socketFileMode);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        return socket;
    }

    private void ConfigureListener(ListenOptions listen)
    {
        listen.Protocols = HttpProtocols.Http2;
        listen.Use(next => async connection =>
        {
            _connections.TryAdd(connection, 0);
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                _connections.TryRemove(connection, out _);
            }
        });
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        WebApplication? app = _app;
        if (app is null)
        {
            return;
        }

        Volatile.Write(ref _app, null);

        // Drop every connection first, like an agent process going away, instead of Kestrel's graceful
        // HTTP/2 shutdown: with GOAWAY a client may send its next call on the closing connection and get
        // Internal ("The HTTP/2 server closed the connection"); a dropped connection is discarded by the
        // client before its streams fail, so a reconnect on the same channel gets a fresh connection.
        foreach (ConnectionContext connection in _connections.Keys)
        {
            connection.Abort(new ConnectionAbortedException("The workload API test server is stopping."));
        }

        _state.EndRun();
        try
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await app.DisposeAsync().ConfigureAwait(false);
            if (SocketPath is not null && File.Exists(SocketPath))
            {
                File.Delete(SocketPath);
            }
        }
    }

    private static int ReadBoundPort(WebApplication app)
    {
        ICollection<string> addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        foreach (string address in addresses)
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out Uri? uri) && uri.Port > 0)
            {
                return uri.Port;
            }
        }

        throw new InvalidOperationException("Kestrel reported no bound TCP port.");
    }

    private static X509SVIDResponse BuildX509SvidResponse(IReadOnlyList<WorkloadApiX509Svid> svids, IReadOnlyDictionary<string, byte[]>? federatedBundles)
    {
        ArgumentNullException.ThrowIfNull(svids);
        var response = new X509SVIDResponse();
        foreach (WorkloadApiX509Svid svid in svids)
        {
            ArgumentNullException.ThrowIfNull(svid, nameof(svids));
            response.Svids.Add(new X509SVID
            {
                SpiffeId = svid.SpiffeId ?? string.Empty,
                X509Svid = ToByteString(svid.CertificateChainDer),
                X509SvidKey = ToByteString(svid.PrivateKeyPkcs8Der),
                Bundle = ToByteString(svid.BundleDer),
                Hint = svid.Hint ?? string.Empty,
            });
        }

        if (federatedBundles is not null)
        {
            foreach ((string trustDomainId, byte[] der) in federatedBundles)
            {
                response.FederatedBundles[trustDomainId] = ToByteString(der);
            }
        }

        return response;
    }

    private static X509BundlesResponse BuildX509BundlesResponse(IReadOnlyDictionary<string, byte[]> bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        var response = new X509BundlesResponse();
        foreach ((string trustDomainId, byte[] der) in bundles)
        {
            response.Bundles[trustDomainId] = ToByteString(der);
        }

        return response;
    }

    private static JWTBundlesResponse BuildJwtBundlesResponse(IReadOnlyDictionary<string, byte[]> jwksByTrustDomainId)
    {
        ArgumentNullException.ThrowIfNull(jwksByTrustDomainId);
        var response = new JWTBundlesResponse();
        foreach ((string trustDomainId, byte[] jwks) in jwksByTrustDomainId)
        {
            response.Bundles[trustDomainId] = ToByteString(jwks);
        }

        return response;
    }

    // Copies, so a test mutating its array afterwards cannot change what was stored.
    private static ByteString ToByteString(byte[]? bytes) => bytes is null ? ByteString.Empty : ByteString.CopyFrom(bytes);
}

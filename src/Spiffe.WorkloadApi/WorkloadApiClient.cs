using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.WorkloadApi.Internal;
using Spiffe.WorkloadApi.Protocol;

namespace Spiffe.WorkloadApi;

/// <summary>
/// A client of the SPIFFE Workload API (gRPC over a Unix socket or TCP; a SPIRE agent in
/// production). Every call carries the <c>workload.spiffe.io: true</c> header. Fetches make one
/// attempt and surface every error; watches keep their stream open, reconnect with backoff, discard
/// malformed messages (whatever makes them fail to parse) and keep going; an unexpected fault is
/// logged and the stream reopened. Most applications use <see cref="X509Source"/>,
/// <see cref="JwtSource"/> or <see cref="BundleSource"/> instead.
/// </summary>
/// <remarks>
/// <code>
/// await using var client = WorkloadApiClient.Create(); // SPIFFE_ENDPOINT_SOCKET
/// using X509Context context = await client.FetchX509ContextAsync();
/// Console.WriteLine(context.DefaultSvid.Id);
/// </code>
/// Creating a client validates the address but does not connect.
/// </remarks>
public sealed class WorkloadApiClient : IAsyncDisposable, IDisposable
{
    private readonly WorkloadApiConnection _connection;
    private readonly ResponseParser _parser;
    private readonly ILogger _watchLogger;
    private int _disposed;

    private WorkloadApiClient(WorkloadApiAddress address, WorkloadApiClientOptions options)
    {
        Address = address;
        Retry = options.Retry.Clone();
        TimeProvider = options.TimeProvider;
        LoggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        Metrics = WorkloadApiMetrics.For(options.MeterFactory);
        _connection = new WorkloadApiConnection(address, options.Metadata);
        _parser = new ResponseParser(address, TimeProvider);
        _watchLogger = LoggerFactory.CreateLogger<WorkloadApiClient>();
    }

    /// <summary>The endpoint this client talks to.</summary>
    public WorkloadApiAddress Address { get; }

    internal WorkloadApiRetryOptions Retry { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal WorkloadApiMetrics Metrics { get; }

    internal ResponseParser Parser => _parser;

    /// <summary>Creates a client. No connection is made until the first call.</summary>
    /// <exception cref="WorkloadApiException">No address is configured, or it is invalid (<see cref="WorkloadApiErrorKind.Configuration"/>).</exception>
    public static WorkloadApiClient Create(WorkloadApiClientOptions? options = null)
    {
        options ??= new WorkloadApiClientOptions();
        ArgumentNullException.ThrowIfNull(options.Retry);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        options.Retry.Validate();
        return new WorkloadApiClient(WorkloadApiAddress.Resolve(options.Address), options);
    }

    /// <summary>Fetches the current X.509 context (SVIDs and bundles) once.</summary>
    /// <exception cref="WorkloadApiException">The call failed or the response was malformed.</exception>
    public Task<X509Context> FetchX509ContextAsync(CancellationToken cancellationToken = default) =>
        StreamWatch.FirstAsync(_connection, ResponseParser.FetchX509Svid, OpenX509Svid, r => _parser.ParseX509Context(r), cancellationToken);

    /// <summary>Watches the X.509 context: <paramref name="watcher"/> gets every valid state and every error, until cancelled.</summary>
    /// <exception cref="WorkloadApiException">A non-retryable error (InvalidArgument, Unimplemented) stopped the watch.</exception>
    internal Task WatchX509ContextAsync(IWorkloadApiWatcher<X509Context> watcher, CancellationToken cancellationToken) =>
        WatchX509ContextAsync(watcher, null, cancellationToken);

    /// <summary>
    /// Watches the X.509 context: an async stream of every new valid state (the agent pushes the
    /// full state on each rotation), until <paramref name="cancellationToken"/> fires, which ends the
    /// enumeration normally. Unreachable agents, ended streams and malformed messages are retried
    /// with backoff and logged through <see cref="WorkloadApiClientOptions.LoggerFactory"/>; an
    /// error that retrying cannot fix (InvalidArgument, Unimplemented, a disposed client) ends the
    /// enumeration by throwing it. Each context is the caller's to dispose; a reader that falls
    /// behind only ever gets the newest one (older undelivered ones are disposed).
    /// </summary>
    /// <remarks>This is the client's one watch style. For a current state kept up to date for you
    /// (TLS, HttpClient, ASP.NET Core), use <see cref="X509Source"/> instead.</remarks>
    /// <exception cref="WorkloadApiException">A non-retryable error stopped the watch (thrown by the enumeration).</exception>
    public IAsyncEnumerable<X509Context> WatchX509ContextAsync(CancellationToken cancellationToken = default) =>
        AsEnumerable<X509Context>((w, ct) => WatchX509ContextAsync(w, ct), cancellationToken);

    /// <summary>Fetches the X.509 bundles (own and federated) once.</summary>
    public Task<X509BundleSet> FetchX509BundlesAsync(CancellationToken cancellationToken = default) =>
        StreamWatch.FirstAsync(_connection, ResponseParser.FetchX509Bundles, OpenX509Bundles, r => _parser.ParseX509Bundles(r), cancellationToken);

    /// <summary>Watches the X.509 bundles until cancelled.</summary>
    internal Task WatchX509BundlesAsync(IWorkloadApiWatcher<X509BundleSet> watcher, CancellationToken cancellationToken) =>
        WatchX509BundlesAsync(watcher, null, cancellationToken);

    /// <summary>Watches the X.509 bundles (own and federated) as an async stream, with the retry and error behaviour of <see cref="WatchX509ContextAsync(CancellationToken)"/>.</summary>
    /// <exception cref="WorkloadApiException">A non-retryable error stopped the watch (thrown by the enumeration).</exception>
    public IAsyncEnumerable<X509BundleSet> WatchX509BundlesAsync(CancellationToken cancellationToken = default) =>
        AsEnumerable<X509BundleSet>((w, ct) => WatchX509BundlesAsync(w, ct), cancellationToken);

    /// <summary>Fetches the JWT bundles once.</summary>
    public Task<JwtBundleSet> FetchJwtBundlesAsync(CancellationToken cancellationToken = default) =>
        StreamWatch.FirstAsync(_connection, ResponseParser.FetchJwtBundles, OpenJwtBundles, _parser.ParseJwtBundles, cancellationToken);

    /// <summary>Watches the JWT bundles until cancelled.</summary>
    internal Task WatchJwtBundlesAsync(IWorkloadApiWatcher<JwtBundleSet> watcher, CancellationToken cancellationToken) =>
        WatchAsync(ResponseParser.FetchJwtBundles, OpenJwtBundles, _parser.ParseJwtBundles, watcher, null, cancellationToken);

    /// <summary>Watches the JWT bundles as an async stream, with the retry and error behaviour of <see cref="WatchX509ContextAsync(CancellationToken)"/>.</summary>
    /// <exception cref="WorkloadApiException">A non-retryable error stopped the watch (thrown by the enumeration).</exception>
    public IAsyncEnumerable<JwtBundleSet> WatchJwtBundlesAsync(CancellationToken cancellationToken = default) =>
        AsEnumerable<JwtBundleSet>((w, ct) => WatchJwtBundlesAsync(w, ct), cancellationToken);

    /// <summary>
    /// Fetches JWT-SVIDs for <paramref name="audiences"/> (at least one; passed through exactly),
    /// for every identity of the workload or only <paramref name="subject"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No audience, or an empty one.</exception>
    /// <exception cref="WorkloadApiException">The agent refused (e.g. PermissionDenied) or answered something malformed.</exception>
    public async Task<IReadOnlyList<JwtSvid>> FetchJwtSvidsAsync(IReadOnlyCollection<string> audiences, SpiffeId? subject = null, CancellationToken cancellationToken = default)
    {
        ValidateAudiences(audiences);
        var request = new JWTSVIDRequest { SpiffeId = subject?.ToString() ?? string.Empty };
        request.Audience.Add(audiences);
        using Activity? activity = WorkloadApiActivity.Start(ResponseParser.FetchJwtSvid, Address);
        try
        {
            JWTSVIDResponse response = await _connection.Client.FetchJWTSVIDAsync(request, _connection.CallOptions(cancellationToken)).ConfigureAwait(false);
            return _parser.ParseJwtSvids(response, audiences);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            WorkloadApiException error = Errors.FromRpc(e, Address, ResponseParser.FetchJwtSvid);
            WorkloadApiActivity.Fail(activity, error);
            throw error;
        }
        catch (WorkloadApiException e)
        {
            WorkloadApiActivity.Fail(activity, e);
            throw;
        }
    }

    /// <summary>Fetches the JWT-SVID of the default identity (or of <paramref name="subject"/>) for <paramref name="audiences"/>.</summary>
    public async Task<JwtSvid> FetchJwtSvidAsync(IReadOnlyCollection<string> audiences, SpiffeId? subject = null, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<JwtSvid> svids = await FetchJwtSvidsAsync(audiences, subject, cancellationToken).ConfigureAwait(false);
        if (subject is null)
        {
            return svids[0];
        }

        return svids.FirstOrDefault(s => s.Id.Equals(subject))
            ?? throw Errors.Malformed(Address, ResponseParser.FetchJwtSvid, $"asked for {subject}, the agent returned only other identities.");
    }

    /// <summary>
    /// Asks the agent to validate <paramref name="token"/> for <paramref name="audience"/>
    /// (SPIFFE_Workload_API.md §6.2.3). Returns the token's SVID when the agent accepts it.
    /// </summary>
    /// <exception cref="WorkloadApiException">The agent rejected the token (<see cref="WorkloadApiErrorKind.InvalidArgument"/>) or the call failed.</exception>
    public async Task<JwtSvid> ValidateJwtSvidAsync(string token, string audience, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        using Activity? activity = WorkloadApiActivity.Start(ResponseParser.ValidateJwtSvid, Address);
        try
        {
            return await ValidateJwtSvidCoreAsync(token, audience, cancellationToken).ConfigureAwait(false);
        }
        catch (WorkloadApiException e)
        {
            WorkloadApiActivity.Fail(activity, e);
            throw;
        }
    }

    private async Task<JwtSvid> ValidateJwtSvidCoreAsync(string token, string audience, CancellationToken cancellationToken)
    {
        ValidateJWTSVIDResponse response;
        try
        {
            response = await _connection.Client.ValidateJWTSVIDAsync(
                new ValidateJWTSVIDRequest { Audience = audience, Svid = token },
                _connection.CallOptions(cancellationToken)).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Errors.FromRpc(e, Address, ResponseParser.ValidateJwtSvid);
        }

        if (response.SpiffeId.Length == 0)
        {
            throw Errors.Malformed(Address, ResponseParser.ValidateJwtSvid, "spiffe_id is empty.");
        }

        JwtSvid svid;
        try
        {
            svid = JwtSvid.ParseInsecure(token, [audience], TimeProvider);
        }
        catch (Exception e) when (e is SpiffeException or FormatException)
        {
            throw Errors.Malformed(Address, ResponseParser.ValidateJwtSvid, $"the agent accepted a token this SDK cannot parse: {e.Message}", e);
        }

        return string.Equals(svid.Id.ToString(), response.SpiffeId, StringComparison.Ordinal)
            ? svid
            : throw Errors.Malformed(Address, ResponseParser.ValidateJwtSvid, $"spiffe_id {response.SpiffeId} differs from the token's subject {svid.Id}.");
    }

    // Each X.509 watch keeps the CA certificates of its last state decoded, so a rotation decodes
    // only what changed (KnownCertificates); the watch disposes them when it ends.
    internal Task WatchX509ContextAsync(IWorkloadApiWatcher<X509Context> watcher, Action<WorkloadApiException>? onRestart, CancellationToken cancellationToken)
    {
        var known = new KnownCertificates();
        return WatchAsync(ResponseParser.FetchX509Svid, OpenX509Svid, r => known.Remember(_parser.ParseX509Context(r, known.Certificates)), watcher, onRestart, cancellationToken, known);
    }

    internal Task WatchX509BundlesAsync(IWorkloadApiWatcher<X509BundleSet> watcher, Action<WorkloadApiException>? onRestart, CancellationToken cancellationToken)
    {
        var known = new KnownCertificates();
        return WatchAsync(ResponseParser.FetchX509Bundles, OpenX509Bundles, r => known.Remember(_parser.ParseX509Bundles(r, known.Certificates)), watcher, onRestart, cancellationToken, known);
    }

    internal Task WatchJwtBundlesAsync(IWorkloadApiWatcher<JwtBundleSet> watcher, Action<WorkloadApiException>? onRestart, CancellationToken cancellationToken) =>
        WatchAsync(ResponseParser.FetchJwtBundles, OpenJwtBundles, _parser.ParseJwtBundles, watcher, onRestart, cancellationToken);

    private static void ValidateAudiences(IReadOnlyCollection<string> audiences)
    {
        ArgumentNullException.ThrowIfNull(audiences);
        if (audiences.Count == 0)
        {
            throw new ArgumentException("At least one audience is required to fetch a JWT-SVID.", nameof(audiences));
        }

        foreach (string audience in audiences)
        {
            if (string.IsNullOrEmpty(audience))
            {
                throw new ArgumentException("An audience is null or empty.", nameof(audiences));
            }
        }
    }

    private AsyncServerStreamingCall<X509SVIDResponse> OpenX509Svid(CallOptions options) =>
        _connection.Client.FetchX509SVID(new X509SVIDRequest(), options);

    private AsyncServerStreamingCall<X509BundlesResponse> OpenX509Bundles(CallOptions options) =>
        _connection.Client.FetchX509Bundles(new X509BundlesRequest(), options);

    private AsyncServerStreamingCall<JWTBundlesResponse> OpenJwtBundles(CallOptions options) =>
        _connection.Client.FetchJWTBundles(new JWTBundlesRequest(), options);

    private Task WatchAsync<TResponse, TUpdate>(
        string operation,
        Func<CallOptions, AsyncServerStreamingCall<TResponse>> open,
        Func<TResponse, TUpdate> parse,
        IWorkloadApiWatcher<TUpdate> watcher,
        Action<WorkloadApiException>? onRestart,
        CancellationToken cancellationToken,
        IDisposable? ownedByWatch = null)
    {
        ArgumentNullException.ThrowIfNull(watcher);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        Task watching = StreamWatch.RunAsync(_connection, operation, open, parse, watcher, Retry, TimeProvider, onRestart, _watchLogger, cancellationToken);
        return ownedByWatch is null ? watching : DisposeAfterAsync(watching, ownedByWatch);
    }

    private static async Task DisposeAfterAsync(Task watching, IDisposable owned)
    {
        try
        {
            await watching.ConfigureAwait(false);
        }
        finally
        {
            owned.Dispose();
        }
    }

    private static async IAsyncEnumerable<T> AsEnumerable<T>(
        Func<IWorkloadApiWatcher<T>, CancellationToken, Task> watch,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<T>(
            new BoundedChannelOptions(1)
            {
                // A slow reader only ever needs the newest full state.
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = true,
            },
            static dropped => (dropped as IDisposable)?.Dispose());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task watching = RunToChannelAsync(watch, channel.Writer, stop.Token);
        try
        {
            await foreach (T update in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                yield return update;
            }

            await watching.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await watching.ConfigureAwait(false);
            }
            catch (WorkloadApiException)
            {
                // Already surfaced to the reader through the channel, or the reader left early.
            }
        }
    }

    private static async Task RunToChannelAsync<T>(Func<IWorkloadApiWatcher<T>, CancellationToken, Task> watch, ChannelWriter<T> writer, CancellationToken cancellationToken)
    {
        try
        {
            await watch(new ChannelWatcher<T>(writer), cancellationToken).ConfigureAwait(false);
            writer.TryComplete();
        }
        catch (WorkloadApiException e)
        {
            writer.TryComplete(e);
        }
#pragma warning disable CA1031 // Whatever ends the watch must end the reader's enumeration too, never leave it waiting.
        catch (Exception e)
#pragma warning restore CA1031
        {
            writer.TryComplete(new WorkloadApiException(WorkloadApiErrorKind.Other, $"The Workload API watch ended unexpectedly ({e.GetType().Name}: {e.Message}).", e));
        }
    }

    private sealed class ChannelWatcher<T>(ChannelWriter<T> writer) : IWorkloadApiWatcher<T>
    {
        public void OnUpdate(T update) => writer.TryWrite(update);

        public void OnError(WorkloadApiException exception)
        {
        }
    }

    /// <summary>Closes the channel; running watches end with a <see cref="WorkloadApiException"/> (kind <see cref="WorkloadApiErrorKind.Configuration"/>).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _connection.Dispose();
        }
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

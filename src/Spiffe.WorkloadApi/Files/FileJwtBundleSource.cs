using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spiffe.Bundles;

namespace Spiffe.Files;

/// <summary>
/// The JWT bundle of one trust domain read from a file, kept current as the file changes: a JWK
/// Set (as the Workload API hands out, e.g. written by spiffe-helper) or a SPIFFE bundle document.
/// Keys with <c>use</c> <c>jwt-svid</c>, or without <c>use</c> (the Workload API's JWK Sets carry
/// none), verify JWT-SVIDs; keys with any other <c>use</c>, such as a SPIFFE bundle's
/// <c>x509-svid</c> authorities, never do.
/// </summary>
/// <remarks>
/// The directory is watched and the file polled like <see cref="FileX509Source"/>; a file that
/// does not parse (half-written, not JSON, a malformed key) is logged and the last good bundle stays.
/// <code>
/// await using var jwtBundles = await FileJwtBundleSource.CreateAsync(new FileJwtBundleSourceOptions { TrustDomain = "example.org", Path = "/run/spiffe/jwt_bundle.json" });
/// JwtSvid caller = JwtSvid.ParseAndValidate(token, jwtBundles, ["my-service"]);
/// </code>
/// </remarks>
public sealed class FileJwtBundleSource : IJwtBundleSource, IAsyncDisposable
{
    private readonly FileJwtBundleSourceOptions _options;
    private readonly ILogger _logger;
    private readonly FileReloadLoop _loop;
    private volatile JwtBundle? _current;
    private byte[]? _currentHash;
    private byte[]? _lastRejectedHash;
    private string? _lastRejection;

    private FileJwtBundleSource(FileJwtBundleSourceOptions options)
    {
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger<FileJwtBundleSource>() ?? NullLogger<FileJwtBundleSource>.Instance;
        _loop = new FileReloadLoop([Path.GetDirectoryName(options.Path)!], options.Debounce, options.PollInterval, options.WatchForChanges, options.TimeProvider!, _logger, Reload);
    }

    /// <summary>Raised after the source switched to a new bundle; on a timer or watcher thread: keep handlers short.</summary>
    public event EventHandler? Updated;

    /// <summary>The trust domain of the bundle.</summary>
    public TrustDomain TrustDomain => _options.ParsedTrustDomain;

    /// <summary>Creates a source and waits until the file holds a valid bundle.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="SpiffeException">No valid bundle within <see cref="FileJwtBundleSourceOptions.StartTimeout"/>; the message gives the last reason.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<FileJwtBundleSource> CreateAsync(FileJwtBundleSourceOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var source = new FileJwtBundleSource(options.Validate());
        try
        {
            await source._loop.ReloadAsync(cancellationToken).ConfigureAwait(false);
            if (source._current is null)
            {
                await FileX509Source.WaitReadyAsync(source._loop.Ready, source._options.StartTimeout, () => source._lastRejection, cancellationToken).ConfigureAwait(false);
            }

            return source;
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The current bundle when asked for its trust domain; null for any other (and once disposed).</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _current?.GetJwtBundle(trustDomain);
    }

    /// <summary>Reads the file now. True when the source switched to a new bundle; false when the file is unchanged or was rejected (logged).</summary>
    /// <exception cref="ObjectDisposedException">The source is disposed.</exception>
    public Task<bool> ReloadAsync(CancellationToken cancellationToken = default) => _loop.ReloadAsync(cancellationToken);

    /// <summary>Completes when the source next switches to a new bundle.</summary>
    /// <exception cref="ObjectDisposedException">The source is disposed.</exception>
    public Task WaitForUpdateAsync(CancellationToken cancellationToken = default) => _loop.WaitForUpdateAsync(cancellationToken);

    /// <summary>Stops watching. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        await _loop.DisposeAsync().ConfigureAwait(false);
        _current = null;
    }

    /// <summary>The trust domain and the file.</summary>
    public override string ToString() => $"FileJwtBundleSource({TrustDomain}, {_options.Path})";

    private bool Reload()
    {
        string path = _options.Path!;
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Reject(null, e is FileNotFoundException or DirectoryNotFoundException
                ? $"the JWT bundle file {path} does not exist"
                : $"the JWT bundle file {path} cannot be read ({e.GetType().Name}: {e.Message})");
            return false;
        }

        byte[] hash = SHA256.HashData(content);
        if (_currentHash is not null && hash.AsSpan().SequenceEqual(_currentHash))
        {
            return false;
        }

        JwtBundle bundle;
        try
        {
            bundle = JwtBundle.Parse(TrustDomain, content);
        }
        catch (FormatException e)
        {
            Reject(hash, $"{path} is not a JWK Set or SPIFFE bundle of {TrustDomain}: {e.Message}");
            return false;
        }

        _current = bundle;
        _currentHash = hash;
        _lastRejectedHash = null;
        _lastRejection = null;
        if (_logger.IsEnabled(LogLevel.Information))
        {
            FilesLog.JwtBundleLoaded(_logger, TrustDomain.Name, path, bundle.JwtAuthorities.Count);
        }

        EventHandler? handlers = Updated;
        if (handlers is not null)
        {
            foreach (EventHandler handler in handlers.GetInvocationList().Cast<EventHandler>())
            {
                try
                {
                    handler(this, EventArgs.Empty);
                }
#pragma warning disable CA1031 // A subscriber's bug must not stop updates for everyone else.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    FilesLog.HandlerFailed(_logger, e);
                }
            }
        }

        return true;
    }

    private void Reject(byte[]? hash, string reason)
    {
        bool repeated = _lastRejection == reason && (hash is null || (_lastRejectedHash is not null && hash.AsSpan().SequenceEqual(_lastRejectedHash)));
        _lastRejectedHash = hash;
        _lastRejection = reason;
        if (repeated)
        {
            FilesLog.StillRejected(_logger, reason);
        }
        else
        {
            FilesLog.Rejected(_logger, reason);
        }
    }
}

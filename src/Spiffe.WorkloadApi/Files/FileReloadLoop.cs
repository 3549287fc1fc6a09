using Microsoft.Extensions.Logging;

namespace Spiffe.Files;

/// <summary>
/// What the file sources share: a FileSystemWatcher on each directory (not on the files: a
/// Kubernetes volume swaps its <c>..data</c> symlink, and editors write a new file and rename it
/// over the old one), a debounce so several files written together are read once, a polling
/// timer as the fallback, and one reload at a time. The reload itself reads and validates the
/// whole set and reports whether it switched.
/// </summary>
internal sealed class FileReloadLoop : IAsyncDisposable
{
    private readonly string[] _directories;
    private readonly TimeSpan _debounce;
    private readonly bool _watch;
    private readonly ILogger _logger;
    private readonly Func<bool> _reload;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly object _lock = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly FileSystemWatcher?[] _watchers;
    private readonly ITimer _debounceTimer;
    private readonly ITimer? _pollTimer;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;

    internal FileReloadLoop(IEnumerable<string> directories, TimeSpan debounce, TimeSpan pollInterval, bool watch, TimeProvider timeProvider, ILogger logger, Func<bool> reload)
    {
        _directories = [.. directories.Distinct(StringComparer.Ordinal)];
        _debounce = debounce;
        _watch = watch;
        _logger = logger;
        _reload = reload;
        _watchers = new FileSystemWatcher?[_directories.Length];
        _debounceTimer = timeProvider.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (pollInterval != Timeout.InfiniteTimeSpan)
        {
            _pollTimer = timeProvider.CreateTimer(_ => OnPoll(), null, pollInterval, pollInterval);
        }

        EnsureWatchers();
    }

    /// <summary>Completes once a reload has produced a valid state.</summary>
    internal Task Ready => _ready.Task;

    /// <summary>Reads the files now (after any reload in progress); true when the source switched to a new state.</summary>
    internal async Task<bool> ReloadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
            }

            bool changed = _reload();
            if (changed)
            {
                TaskCompletionSource signal;
                lock (_lock)
                {
                    signal = _next;
                    _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                _ready.TrySetResult();
                signal.TrySetResult();
            }

            return changed;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Completes with the next switch to a new state after the call.</summary>
    internal Task WaitForUpdateAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _next.Task.WaitAsync(cancellationToken);
        }
    }

    private void OnPoll()
    {
        EnsureWatchers();
        Fire();
    }

    private void OnChange(object sender, EventArgs e)
    {
        // Every further event restarts the wait: the reload runs once the writer has been quiet for _debounce.
        lock (_lock)
        {
            if (!_disposed)
            {
                _debounceTimer.Change(_debounce, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Fire() => _ = FireAsync();

    private async Task FireAsync()
    {
        try
        {
            await ReloadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The source was disposed while a timer was due.
        }
#pragma warning disable CA1031 // A failure of one reload must not stop later ones; it is logged.
        catch (Exception e)
#pragma warning restore CA1031
        {
            FilesLog.ReloadFailed(_logger, e);
        }
    }

    private void EnsureWatchers()
    {
        if (!_watch)
        {
            return;
        }

        lock (_lock)
        {
            for (int i = 0; i < _directories.Length; i++)
            {
                if (_disposed || _watchers[i] is not null)
                {
                    continue;
                }

                try
                {
                    var watcher = new FileSystemWatcher(_directories[i])
                    {
                        NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite
                            | NotifyFilters.Size | NotifyFilters.CreationTime | NotifyFilters.Attributes,
                        IncludeSubdirectories = false,
                    };
                    watcher.Changed += OnChange;
                    watcher.Created += OnChange;
                    watcher.Deleted += OnChange;
                    watcher.Renamed += OnChange;

                    // A lost notification (queue overflow) may hide a change: read everything again.
                    watcher.Error += OnChange;
                    watcher.EnableRaisingEvents = true;
                    _watchers[i] = watcher;
                }
                catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or PlatformNotSupportedException)
                {
                    // The directory does not exist yet (a volume not mounted yet): polling retries.
                    FilesLog.WatchUnavailable(_logger, _directories[i], e.Message);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (FileSystemWatcher? watcher in _watchers)
            {
                watcher?.Dispose();
            }

            _next.TrySetException(new ObjectDisposedException(nameof(FileReloadLoop)));
            _ready.TrySetException(new ObjectDisposedException(nameof(FileReloadLoop)));
        }

        await _debounceTimer.DisposeAsync().ConfigureAwait(false);
        if (_pollTimer is not null)
        {
            await _pollTimer.DisposeAsync().ConfigureAwait(false);
        }

        // Wait for a reload in progress, so the owner can release its state safely afterwards.
        await _gate.WaitAsync().ConfigureAwait(false);
        _gate.Release();
    }
}

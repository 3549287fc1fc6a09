using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spiffe.Bundles;
using Spiffe.X509;

namespace Spiffe.Files;

/// <summary>
/// An X509-SVID and bundles read from files, kept current as the files change: what
/// csi-driver-spiffe mounts (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>) or spiffe-helper writes
/// (<c>svid.pem</c>, <c>svid_key.pem</c>, <c>svid_bundle.pem</c>), plus an optional directory of
/// federated bundles. It is an <see cref="IX509SvidSource"/> and an <see cref="IX509BundleSetSource"/>
/// like <c>X509Source</c>, so <c>UseSpiffeMtls</c>, <c>SpiffeHttpHandler</c> and
/// <c>SpiffeTlsServer</c>/<c>SpiffeTlsClient</c> take it unchanged.
/// </summary>
/// <remarks>
/// <para>
/// Changes are noticed by watching the directory (not the files, so Kubernetes' <c>..data</c>
/// symlink swap and write-then-rename are seen) and by polling every
/// <see cref="FileX509SourceOptions.PollInterval"/>. After a change the whole set is read again and
/// validated before it replaces the current one: the key must match the leaf, the leaf must be an
/// X509-SVID that is valid now and chains to the bundle file's authorities. A set that fails (a
/// file missing, unreadable, half-written, a key of another certificate, an expired leaf) is
/// logged with the reason and the last good set stays; the next notification or poll reads the
/// files again, so the set is taken as soon as the writer has finished.
/// </para>
/// <para>
/// Federated bundles: each <c>&lt;trust-domain&gt;.pem</c> or <c>&lt;trust-domain&gt;.json</c> file of
/// <see cref="FileX509SourceOptions.FederatedBundlesDirectory"/> is the bundle of that trust domain
/// only. A file that fails to parse keeps that trust domain's last good bundle; a removed file
/// removes the trust domain. The own trust domain's bundle always comes from the bundle file.
/// </para>
/// <para>
/// A superseded set is released (certificates and key disposed) one change later, like
/// <c>X509Source</c>: ask the source for the SVID each time rather than keeping it.
/// </para>
/// <code>
/// await using var source = await FileX509Source.CreateAsync(new FileX509SourceOptions { Directory = "/var/run/secrets/spiffe.io" });
/// builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, l => l.UseSpiffeMtls(source, source, authorizer)));
/// </code>
/// </remarks>
public sealed class FileX509Source : IX509SvidSource, IX509BundleSetSource, IJwtBundleSource, IAsyncDisposable
{
    private static readonly X509BundleSet s_noBundles = new([]);
    private readonly FileX509SourceOptions _options;
    private readonly ILogger _logger;
    private readonly FileReloadLoop _loop;
    private volatile State? _current;
    private byte[]? _lastRejectedHash;
    private string? _lastRejection;
    private long _updatedAtUtcTicks; // 0 before the first set
    private volatile bool _disposed;
    private Dictionary<string, FederatedEntry> _federatedFiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _rejectedFederatedFiles = new(StringComparer.Ordinal);

    private FileX509Source(FileX509SourceOptions options)
    {
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger<FileX509Source>() ?? NullLogger<FileX509Source>.Instance;
        string?[] directories = [options.Directory, options.FederatedBundlesDirectory];
        _loop = new FileReloadLoop(directories.OfType<string>(), options.Debounce, options.PollInterval, options.WatchForChanges, options.TimeProvider!, _logger, Reload);
    }

    /// <summary>Raised after the source switched to a new set of files; on a timer or watcher thread: keep handlers short.</summary>
    public event EventHandler? Updated;

    /// <summary>The directory the SVID files are read from.</summary>
    public string Directory => _options.Directory!;

    /// <summary>Creates a source and waits until the files hold a valid set.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="SpiffeException">No valid set within <see cref="FileX509SourceOptions.StartTimeout"/>; the message gives the last reason.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<FileX509Source> CreateAsync(FileX509SourceOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var source = new FileX509Source(options.Validate());
        try
        {
            await source._loop.ReloadAsync(cancellationToken).ConfigureAwait(false);
            if (source._current is null)
            {
                await WaitReadyAsync(source._loop.Ready, source._options.StartTimeout, () => source._lastRejection, cancellationToken).ConfigureAwait(false);
            }

            return source;
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates a source and starts reading and watching the files without waiting: <see cref="GetX509Svid"/>
    /// throws until a valid set has been read (a TLS handshake then fails rather than waits). For hosts
    /// that must hand out the source before it is ready, e.g. a DI singleton that a hosted service awaits
    /// with <see cref="WaitUntilReadyAsync"/>.
    /// </summary>
    /// <remarks><see cref="FileX509SourceOptions.StartTimeout"/> is not used: the caller decides how long to wait.</remarks>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static FileX509Source Create(FileX509SourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var source = new FileX509Source(options.Validate());
        _ = Task.Run(source.FirstReloadAsync);
        return source;
    }

    /// <summary>Completes once the files have held a valid set (at once if they already have).</summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits until cancelled.</param>
    /// <param name="cancellationToken">Stops waiting (the source keeps watching).</param>
    /// <exception cref="SpiffeException">No valid set within <paramref name="timeout"/>; the message gives the last reason. The source keeps watching.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitReadyAsync(_loop.Ready, timeout, () => LastError, cancellationToken);

    /// <summary>When the source last switched to a new set of files (by the options' clock); null before the first.</summary>
    public DateTimeOffset? LastUpdatedAt => Volatile.Read(ref _updatedAtUtcTicks) is var ticks and not 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>
    /// Why the SVID files were last rejected (missing, unreadable, half-written, a key of another
    /// certificate, an expired leaf), or null when the last read found a valid set (new or unchanged).
    /// The current set, if any, stays in force meanwhile.
    /// </summary>
    public string? LastError => Volatile.Read(ref _lastRejection);

    /// <summary>The current X509-SVID, read from the files and validated.</summary>
    /// <exception cref="SpiffeException">No valid set has been read yet (the message gives the last reason), or the source is disposed.</exception>
    public X509Svid GetX509Svid() => _current?.Svid ?? throw new SpiffeException(
        _disposed
            ? $"No X509-SVID: the file source for {Directory} is disposed."
            : $"No X509-SVID yet: the files in {Directory} have not held a valid set; last reason: {LastError ?? "the files were not read yet"}");

    /// <summary>The X.509 bundle of <paramref name="trustDomain"/>: the bundle file for the SVID's own trust domain, a federated bundle file for others; null when none.</summary>
    public X509Bundle? GetX509Bundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _current?.Bundles.GetX509Bundle(trustDomain);
    }

    /// <summary>The current bundles, own and federated: the same instance until the files change.</summary>
    public X509BundleSet GetX509BundleSet() => _current?.Bundles ?? s_noBundles;

    /// <summary>The JWT bundle of <paramref name="trustDomain"/> from a federated SPIFFE bundle (<c>.json</c>) file; null when none.</summary>
    public JwtBundle? GetJwtBundle(TrustDomain trustDomain)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        return _current?.JwtBundles.GetValueOrDefault(trustDomain);
    }

    /// <summary>
    /// Reads the files now instead of waiting for a notification or the next poll (e.g. on a
    /// signal from the writer). True when the source switched to a new set; false when the files
    /// are unchanged or were rejected (the reason is logged).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The source is disposed.</exception>
    public Task<bool> ReloadAsync(CancellationToken cancellationToken = default) => _loop.ReloadAsync(cancellationToken);

    /// <summary>Completes when the source next switches to a new set of files.</summary>
    /// <exception cref="ObjectDisposedException">The source is disposed.</exception>
    public Task WaitForUpdateAsync(CancellationToken cancellationToken = default) => _loop.WaitForUpdateAsync(cancellationToken);

    /// <summary>
    /// Stops watching and lets go of the current set (objects already handed out stay readable; the
    /// finalizers release them once nothing refers to them, as for <see cref="WorkloadApi.X509Source"/>). Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _loop.DisposeAsync().ConfigureAwait(false);
        _current = null;
    }

    private async Task FirstReloadAsync()
    {
        try
        {
            await _loop.ReloadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // Disposed before the first read: nothing to do.
        }
    }

    internal static async Task WaitReadyAsync(Task ready, TimeSpan timeout, Func<string?> lastReason, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            timeoutSource.CancelAfter(timeout);
        }

        try
        {
            await ready.WaitAsync(timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SpiffeException(string.Create(CultureInfo.InvariantCulture, $"No valid files within {timeout.TotalSeconds:0.###} s; last reason: {lastReason() ?? "the files were not read yet"}"));
        }
    }

    // Runs under the loop's gate, one at a time.
    private bool Reload()
    {
        State? current = _current;
        (X509Svid Svid, X509Bundle Bundle, byte[] Hash)? svidPart = ReadSvidSet(current);
        if (svidPart is null && current is null)
        {
            return false;
        }

        X509Svid svid = svidPart?.Svid ?? current!.Svid;
        X509Bundle ownBundle = svidPart?.Bundle ?? current!.OwnBundle;
        byte[] svidHash = svidPart?.Hash ?? current!.SvidHash;
        Dictionary<string, FederatedEntry> federated = ReadFederated(svid.Id.TrustDomain);
        bool federatedChanged = current is null || !SameEntries(current.FederatedFiles, federated);
        if (svidPart is null && !federatedChanged)
        {
            return false;
        }

        var bundles = new List<X509Bundle> { ownBundle };
        var jwtBundles = new Dictionary<TrustDomain, JwtBundle>();
        foreach (FederatedEntry entry in federated.Values.OrderBy(e => e.TrustDomain.Name, StringComparer.Ordinal))
        {
            if (entry.TrustDomain.Equals(ownBundle.TrustDomain) || bundles.Exists(b => b.TrustDomain.Equals(entry.TrustDomain)))
            {
                continue;
            }

            bundles.Add(entry.X509);
            if (entry.Jwt is not null)
            {
                jwtBundles[entry.TrustDomain] = entry.Jwt;
            }
        }

        // Handed out from now on: the source's (ownership as in X509Source). Disposing them does
        // nothing, and the source never disposes them either, so a caller holding one across a
        // reload (or a handshake that read it just before the swap) keeps a readable object.
        svid.MarkOwnedBySource();
        foreach (X509Bundle handedOut in bundles)
        {
            handedOut.MarkOwnedBySource();
        }

        var next = new State(svid, ownBundle, svidHash, federated, new X509BundleSet(bundles), jwtBundles);
        _federatedFiles = federated;
        Volatile.Write(ref _updatedAtUtcTicks, _options.TimeProvider!.GetUtcNow().UtcTicks);

        _current = next;


        if (svidPart is not null && _logger.IsEnabled(LogLevel.Information))
        {
            FilesLog.SvidLoaded(_logger, Directory, svid.Id.ToString(), svid.Certificate.SerialNumber, svid.ExpiresAt, bundles.Count);
        }

        if (federatedChanged && _options.FederatedBundlesDirectory is { } federatedDirectory && _logger.IsEnabled(LogLevel.Information))
        {
            FilesLog.FederatedLoaded(_logger, federatedDirectory, string.Join(", ", federated.Values.Select(e => e.TrustDomain.Name).Order(StringComparer.Ordinal)));
        }

        RaiseUpdated();
        return true;
    }

    /// <summary>The SVID set when the files changed and are valid; null when unchanged or rejected (logged).</summary>
    private (X509Svid Svid, X509Bundle Bundle, byte[] Hash)? ReadSvidSet(State? current)
    {
        byte[]? certificate = null;
        byte[]? key = null;
        byte[]? bundle = null;
        try
        {
            if (!TryRead(_options.CertificatePath, "certificate", out certificate, out string? error)
                || !TryRead(_options.PrivateKeyPath, "private key", out key, out error)
                || !TryRead(_options.BundlePath, "bundle", out bundle, out error))
            {
                Reject(null, error);
                return null;
            }

            byte[] hash = Hash(certificate, key, bundle);
            if (current is not null && hash.AsSpan().SequenceEqual(current.SvidHash))
            {
                _lastRejectedHash = null;
                Volatile.Write(ref _lastRejection, null); // back to the set in force: nothing is wrong any more
                return null;
            }

            if (!TryBuild(certificate, key, bundle, out X509Svid? svid, out X509Bundle? ownBundle, out error))
            {
                Reject(hash, error);
                return null;
            }

            _lastRejectedHash = null;
            Volatile.Write(ref _lastRejection, null);
            return (svid, ownBundle, hash);
        }
        finally
        {
            if (key is not null)
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
    }

    private bool TryBuild(byte[] certificate, byte[] key, byte[] bundle, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out X509Svid? svid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out X509Bundle? ownBundle, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        svid = null;
        ownBundle = null;
        char[] keyChars = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(key.Length));
        int keyLength = 0;
        try
        {
            keyLength = Encoding.UTF8.GetChars(key, keyChars);
            svid = X509Svid.FromPem(Encoding.UTF8.GetString(certificate), keyChars.AsSpan(0, keyLength));
        }
        catch (X509SvidException e)
        {
            error = $"{_options.CertificatePath} and {_options.PrivateKeyPath} are not a valid X509-SVID: {e.Message}";
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshalBytes(keyChars, keyLength));
            ArrayPool<char>.Shared.Return(keyChars);
        }

        try
        {
            ownBundle = X509Bundle.FromPem(svid.Id.TrustDomain, Encoding.UTF8.GetString(bundle));
        }
        catch (FormatException e)
        {
            svid.Dispose();
            svid = null;
            error = $"{_options.BundlePath} is not a bundle of CA certificates: {e.Message}";
            return false;
        }

        // The whole set must be usable now: the leaf valid at this time and chaining to the bundle file.
        X509SvidValidationResult result = new X509SvidValidator(ownBundle, _options.TimeProvider, cacheSize: 0).Validate(svid.Chain);
        if (!result.IsValid)
        {
            error = $"the SVID in {_options.CertificatePath} does not validate against {_options.BundlePath}: {result.Error}";
            svid.Dispose();
            ownBundle.Dispose();
            svid = null;
            ownBundle = null;
            return false;
        }

        error = null;
        return true;
    }

    private static Span<byte> MemoryMarshalBytes(char[] chars, int length) =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(chars.AsSpan(0, length));

    private void Reject(byte[]? hash, string reason)
    {
        bool repeated = _lastRejection == reason && (hash is null || (_lastRejectedHash is not null && hash.AsSpan().SequenceEqual(_lastRejectedHash)));
        _lastRejectedHash = hash;
        Volatile.Write(ref _lastRejection, reason);
        if (repeated)
        {
            FilesLog.StillRejected(_logger, reason);
        }
        else
        {
            FilesLog.Rejected(_logger, reason);
        }
    }

    private static bool TryRead(string path, string what, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? content, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        try
        {
            content = File.ReadAllBytes(path);
            error = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            content = null;
            error = e is FileNotFoundException or DirectoryNotFoundException
                ? $"the {what} file {path} does not exist"
                : $"the {what} file {path} cannot be read ({e.GetType().Name}: {e.Message})";
            return false;
        }
    }

    private static byte[] Hash(params ReadOnlySpan<byte[]> parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (byte[] part in parts)
        {
            BitConverter.TryWriteBytes(length, (long)part.Length);
            hash.AppendData(length);
            hash.AppendData(part);
        }

        return hash.GetHashAndReset();
    }

    private Dictionary<string, FederatedEntry> ReadFederated(TrustDomain ownTrustDomain)
    {
        var result = new Dictionary<string, FederatedEntry>(StringComparer.Ordinal);
        if (_options.FederatedBundlesDirectory is not { } directory)
        {
            return result;
        }

        string[] files;
        try
        {
            files = System.IO.Directory.GetFiles(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A missing or unreadable directory keeps every federated bundle as it was.
            Reject(null, $"the federated bundles directory {directory} cannot be read ({e.Message})");
            return _federatedFiles;
        }

        var seen = new HashSet<TrustDomain>();
        foreach (string path in files.Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            string extension = Path.GetExtension(name);
            bool json = extension.Equals(".json", StringComparison.Ordinal);
            if (!(json || extension.Equals(".pem", StringComparison.Ordinal)) || name.StartsWith('.'))
            {
                continue;
            }

            if (!TrustDomain.TryParse(Path.GetFileNameWithoutExtension(name), out TrustDomain? trustDomain))
            {
                RejectFederated(path, null, $"{path} is not named after a trust domain (<trust-domain>.pem or <trust-domain>.json); ignored");
                continue;
            }

            if (trustDomain.Equals(ownTrustDomain))
            {
                RejectFederated(path, null, $"{path} is for the SVID's own trust domain, whose bundle comes from {_options.BundlePath}; ignored");
                continue;
            }

            if (!seen.Add(trustDomain))
            {
                RejectFederated(path, null, $"{path}: trust domain {trustDomain} has both a .pem and a .json file; the first one read is used");
                continue;
            }

            _federatedFiles.TryGetValue(path, out FederatedEntry? previous);
            if (!TryRead(path, "federated bundle", out byte[]? content, out string? error))
            {
                RejectFederated(path, null, error);
                if (previous is not null)
                {
                    result[path] = previous;
                }

                continue;
            }

            byte[] hash = Hash(content);
            if (previous is not null && previous.Hash.AsSpan().SequenceEqual(hash))
            {
                result[path] = previous;
                continue;
            }

            try
            {
                result[path] = json ? FederatedEntry.FromJson(trustDomain, content, hash) : FederatedEntry.FromPem(trustDomain, content, hash);
                _rejectedFederatedFiles.Remove(path);
            }
            catch (FormatException e)
            {
                RejectFederated(path, hash, $"{path} is not a valid {(json ? "SPIFFE bundle" : "PEM bundle")} of {trustDomain}: {e.Message}{(previous is null ? string.Empty : "; its last good bundle stays")}");
                if (previous is not null)
                {
                    result[path] = previous;
                }
            }
        }

        return result;
    }

    private void RejectFederated(string path, byte[]? hash, string reason)
    {
        byte[] key = hash ?? Encoding.UTF8.GetBytes(reason);
        if (_rejectedFederatedFiles.TryGetValue(path, out byte[]? last) && last.AsSpan().SequenceEqual(key))
        {
            FilesLog.StillRejected(_logger, reason);
            return;
        }

        _rejectedFederatedFiles[path] = key;
        FilesLog.Rejected(_logger, reason);
    }

    private static bool SameEntries(Dictionary<string, FederatedEntry> a, Dictionary<string, FederatedEntry> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        foreach ((string path, FederatedEntry entry) in a)
        {
            if (!b.TryGetValue(path, out FederatedEntry? other) || !ReferenceEquals(entry, other))
            {
                return false;
            }
        }

        return true;
    }

    private void RaiseUpdated()
    {
        EventHandler? handlers = Updated;
        if (handlers is null)
        {
            return;
        }

        foreach (EventHandler handler in handlers.GetInvocationList().Cast<EventHandler>())
        {
            try
            {
                handler(this, EventArgs.Empty);
            }
#pragma warning disable CA1031 // A subscriber's bug must not stop rotation for everyone else.
            catch (Exception e)
#pragma warning restore CA1031
            {
                FilesLog.HandlerFailed(_logger, e);
            }
        }
    }

    /// <summary>The SVID directory and the current SPIFFE ID, if any.</summary>
    public override string ToString() => $"FileX509Source({Directory}, {(_current?.Svid.Id.ToString() ?? "no SVID")})";

    private sealed class FederatedEntry(TrustDomain trustDomain, byte[] hash, X509Bundle x509, JwtBundle? jwt)
    {
        public TrustDomain TrustDomain { get; } = trustDomain;

        public byte[] Hash { get; } = hash;

        public X509Bundle X509 { get; } = x509;

        public JwtBundle? Jwt { get; } = jwt;

        public static FederatedEntry FromPem(TrustDomain trustDomain, byte[] content, byte[] hash)
        {
            X509Bundle bundle = X509Bundle.FromPem(trustDomain, Encoding.UTF8.GetString(content));
            return new FederatedEntry(trustDomain, hash, bundle, null);
        }

        public static FederatedEntry FromJson(TrustDomain trustDomain, byte[] content, byte[] hash)
        {
            SpiffeBundle bundle = SpiffeBundle.Parse(trustDomain, content);
            return new FederatedEntry(trustDomain, hash, bundle.GetX509Bundle(trustDomain)!, bundle.GetJwtBundle(trustDomain));
        }
    }

    private sealed class State(X509Svid svid, X509Bundle ownBundle, byte[] svidHash, Dictionary<string, FederatedEntry> federatedFiles, X509BundleSet bundles, Dictionary<TrustDomain, JwtBundle> jwtBundles)
    {
        public X509Svid Svid { get; } = svid;

        public X509Bundle OwnBundle { get; } = ownBundle;

        public byte[] SvidHash { get; } = svidHash;

        public Dictionary<string, FederatedEntry> FederatedFiles { get; } = federatedFiles;

        public X509BundleSet Bundles { get; } = bundles;

        public Dictionary<TrustDomain, JwtBundle> JwtBundles { get; } = jwtBundles;
    }
}

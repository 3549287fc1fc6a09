using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Cli.Helper;

/// <summary>PKCS#12 output requested on the command line: the file name in cert_dir and its password.</summary>
internal sealed record HelperPkcs12(string FileName, string Password);

/// <summary>
/// What <c>spiffe helper</c> does with a <see cref="HelperConfig"/>: writes the SVIDs and bundles into cert_dir (each
/// file atomically, key before certificate), starts <c>cmd</c> once every output is written, signals it (and the
/// process in pid_file_name) after each later write, restarts it with backoff when it exits, and answers the health
/// endpoints. One loop applies every update, so writes never interleave.
/// </summary>
internal sealed class HelperRunner(HelperConfig config, string certDirectory, WorkloadApiClient client, TextWriter output, TextWriter error, HelperPkcs12? pkcs12)
{
    private static readonly TimeSpan s_maxRestartDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_maxJwtRetryDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(10);

    private readonly Channel<object> _updates = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<string> _pendingOutputs = [];
    private readonly object _processGate = new();
    private Process? _process;
    private volatile bool _ready;
    private volatile bool _live = true;
    private string? _lastError;

    /// <summary>The first restart delay of a crashed <c>cmd</c>; doubled on each crash in a row, up to 30 s.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Overrides health_checks.bind_port (tests listen on port 0 and read <see cref="HealthPort"/>).</summary>
    public int? HealthPortOverride { get; init; }

    /// <summary>The address the health listener binds (all interfaces, as spiffe-helper does; tests use loopback).</summary>
    public System.Net.IPAddress HealthAddress { get; init; } = System.Net.IPAddress.Any;

    /// <summary>Every output has been written at least once.</summary>
    public bool IsReady => _ready;

    /// <summary>The last write succeeded.</summary>
    public bool IsLive => _live;

    /// <summary>The port the health listener is bound to, once started.</summary>
    public int? HealthPort { get; private set; }

    /// <summary>One-shot mode: fetch everything once, write it, and return; any failure throws.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        if (NeedsX509)
        {
            using X509Context context = await client.FetchX509ContextAsync(cancellationToken).ConfigureAwait(false);
            WriteX509(context);
        }

        if (config.JwtBundleFileName is not null)
        {
            WriteJwtBundles(await client.FetchJwtBundlesAsync(cancellationToken).ConfigureAwait(false));
        }

        foreach (HelperJwtSvid entry in config.JwtSvids)
        {
            WriteJwtSvid(entry, await FetchJwtSvidAsync(entry, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>Daemon mode: keeps every output up to date until cancelled; then stops <c>cmd</c> (SIGTERM, then kill).</summary>
    public async Task RunDaemonAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new List<Task>();
        if (NeedsX509)
        {
            _pendingOutputs.Add("x509");
            tasks.Add(WatchAsync<X509Context>((w, ct) => client.WatchX509ContextAsync(w, ct), stop.Token));
        }

        if (config.JwtBundleFileName is not null)
        {
            _pendingOutputs.Add("jwt_bundle");
            tasks.Add(WatchAsync<JwtBundleSet>((w, ct) => client.WatchJwtBundlesAsync(w, ct), stop.Token));
        }

        foreach (HelperJwtSvid entry in config.JwtSvids)
        {
            _pendingOutputs.Add("jwt:" + entry.FileName);
            tasks.Add(RefreshJwtSvidAsync(entry, stop.Token));
        }

        HealthListener? health = null;
        if (config.HealthChecks.ListenerEnabled)
        {
            health = await HealthListener.StartAsync(this, config.HealthChecks, HealthAddress, HealthPortOverride ?? config.HealthChecks.BindPort, cancellationToken).ConfigureAwait(false);
            HealthPort = health.Port;
            await SayAsync($"health checks on port {health.Port}: liveness {config.HealthChecks.LivenessPath}, readiness {config.HealthChecks.ReadinessPath}").ConfigureAwait(false);
        }

        Task? supervisor = null;
        try
        {
            await foreach (object update in _updates.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                bool wrote = await ApplyAsync(update).ConfigureAwait(false);
                if (!wrote)
                {
                    continue;
                }

                if (!_ready && _pendingOutputs.Count == 0)
                {
                    _ready = true;
                    await SayAsync("ready: every output is written").ConfigureAwait(false);
                    if (config.Cmd is not null)
                    {
                        supervisor = SuperviseAsync(stop.Token);
                    }
                    else
                    {
                        await SignalAsync().ConfigureAwait(false);
                    }
                }
                else if (_ready)
                {
                    await SignalAsync().ConfigureAwait(false);
                }
            }

            // The channel completes only when a watch stopped on an error that is not retried.
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // SIGTERM / Ctrl-C: stop cmd below, then exit cleanly.
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await StopProcessAsync().ConfigureAwait(false);
            if (supervisor is not null)
            {
                await supervisor.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await Task.WhenAll(tasks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (health is not null)
            {
                await health.DisposeAsync().ConfigureAwait(false);
            }

            while (_updates.Reader.TryRead(out object? left))
            {
                (left as IDisposable)?.Dispose();
            }
        }
    }

    private bool NeedsX509 => config.WritesX509 || pkcs12 is not null;

    private async Task<bool> ApplyAsync(object update)
    {
        string output;
        try
        {
            switch (update)
            {
                case WorkloadApiException e:
                    // An agent restart produces one error per retry: say each new reason once.
                    string reason = (await ErrorMessages.DescribeAsync(e, client.Address).ConfigureAwait(false)).TrimEnd('.');
                    if (reason != _lastError)
                    {
                        _lastError = reason;
                        await ComplainAsync($"{reason}; {(e.IsRetryable ? "retrying, the files written last stay in place" : "waiting for the next update")}").ConfigureAwait(false);
                    }

                    return false;
                case string message:
                    await ComplainAsync(message).ConfigureAwait(false);
                    return false;
                case X509Context context:
                    using (context)
                    {
                        output = "x509";
                        await SayAsync(WriteX509(context)).ConfigureAwait(false);
                    }

                    break;
                case JwtBundleSet bundles:
                    output = "jwt_bundle";
                    await SayAsync(WriteJwtBundles(bundles)).ConfigureAwait(false);
                    break;
                case (HelperJwtSvid entry, JwtSvid svid):
                    output = "jwt:" + entry.FileName;
                    await SayAsync(WriteJwtSvid(entry, svid)).ConfigureAwait(false);
                    break;
                default:
                    return false;
            }
        }
        catch (CliException e)
        {
            // The previous files stay as they were: readers keep a consistent (older) set.
            _live = false;
            await ComplainAsync($"{e.Message}; the previous files are kept, liveness reports failure until a write succeeds").ConfigureAwait(false);
            return false;
        }

        _live = true;
        _lastError = null;
        _pendingOutputs.Remove(output);
        return true;
    }

    /// <summary>Writes key, then certificates, then bundle (then PKCS#12); returns the line to print.</summary>
    private string WriteX509(X509Context context)
    {
        X509Svid svid = config.Hint is { Length: > 0 } hint
            ? context.FindByHint(hint) ?? throw new CliException($"the Workload API gave no X509-SVID with hint \"{hint}\" (it has {string.Join(", ", context.Svids.Select(s => s.Hint ?? "no hint"))}); fix hint in the configuration")
            : context.DefaultSvid;
        X509Bundle own = context.Bundles.GetX509Bundle(svid.Id.TrustDomain)
            ?? throw new CliException($"the Workload API gave no bundle for {svid.Id.TrustDomain}");
        DateTimeOffset now = DateTimeOffset.UtcNow;

        var certificates = new StringBuilder();
        var bundle = new StringBuilder();
        AppendPem(certificates, svid.Certificate);
        foreach (X509Certificate2 intermediate in svid.Intermediates)
        {
            AppendPem(config.AddIntermediatesToBundle ? bundle : certificates, intermediate);
        }

        IEnumerable<X509Bundle> bundles = config.IncludeFederatedDomains
            ? context.Bundles.Where(b => !b.TrustDomain.Equals(own.TrustDomain)).Prepend(own)
            : [own];
        foreach (X509Certificate2 authority in bundles.SelectMany(b => b.X509Authorities))
        {
            if (!config.OmitExpired || authority.NotAfter.ToUniversalTime() > now.UtcDateTime)
            {
                AppendPem(bundle, authority);
            }
        }

        // Key, certificate, bundle and PKCS#12 change together or not at all (AtomicFile.WriteAll).
        var files = new List<(string Name, byte[] Content, UnixFileMode Mode)>(4);
        if (config.WritesX509)
        {
            files.Add((config.SvidKeyFileName!, Encoding.ASCII.GetBytes(svid.ExportPrivateKeyPem()), config.KeyFileMode));
            files.Add((config.SvidFileName!, Encoding.ASCII.GetBytes(certificates.ToString()), config.CertFileMode));
            files.Add((config.SvidBundleFileName!, Encoding.ASCII.GetBytes(bundle.ToString()), config.CertFileMode));
        }

        if (pkcs12 is not null)
        {
            files.Add((pkcs12.FileName, ExportPkcs12(svid, pkcs12.Password), config.KeyFileMode));
        }

        Write(() => AtomicFile.WriteAll(certDirectory, files));
        return $"wrote {string.Join(", ", files.Select(static f => f.Name))}: {svid.Id} expires {svid.ExpiresAt.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)}";
    }

    private string WriteJwtBundles(JwtBundleSet bundles)
    {
        // spiffe-helper's format: {"<trust domain>": "<base64 of the JWKS>"}.
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (JwtBundle bundle in bundles.Bundles.OrderBy(b => b.TrustDomain.Name, StringComparer.Ordinal))
            {
                json.WriteString(bundle.TrustDomain.Name, Convert.ToBase64String(bundle.ToJwks()));
            }

            json.WriteEndObject();
        }

        Write(() => AtomicFile.Write(certDirectory, config.JwtBundleFileName!, buffer.ToArray(), config.JwtBundleFileMode));
        return $"wrote {config.JwtBundleFileName}: JWT bundles of {string.Join(", ", bundles.Bundles.Select(b => b.TrustDomain.Name))}";
    }

    private string WriteJwtSvid(HelperJwtSvid entry, JwtSvid svid)
    {
        Write(() => AtomicFile.Write(certDirectory, entry.FileName, Encoding.ASCII.GetBytes(svid.Token), config.JwtSvidFileMode));
        return $"wrote {entry.FileName}: JWT-SVID {svid.Id} for {entry.Audience} expires {svid.ExpiresAt.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)}";
    }

    private void Write(Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ErrorMessages.WriteFailed(certDirectory, e).Message.Replace("--write directory", "cert_dir", StringComparison.Ordinal).Replace("with --write", "as cert_dir", StringComparison.Ordinal), e);
        }
    }

    private static byte[] ExportPkcs12(X509Svid svid, string password)
    {
        using X509Certificate2 withKey = X509Certificate2.CreateFromPem(svid.Certificate.ExportCertificatePem(), svid.ExportPrivateKeyPem());
        var collection = new X509Certificate2Collection(withKey);
        foreach (X509Certificate2 intermediate in svid.Intermediates)
        {
            collection.Add(intermediate);
        }
        return collection.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, password);
    }

    private static void AppendPem(StringBuilder builder, X509Certificate2 certificate) =>
        builder.Append(certificate.ExportCertificatePem()).Append('\n');

    private async Task<JwtSvid> FetchJwtSvidAsync(HelperJwtSvid entry, CancellationToken cancellationToken)
    {
        string[] audiences = [entry.Audience, .. entry.ExtraAudiences];
        IReadOnlyList<JwtSvid> svids = await client.FetchJwtSvidsAsync(audiences, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (config.Hint is { Length: > 0 } hint)
        {
            return svids.FirstOrDefault(s => s.Hint == hint)
                ?? throw new CliException($"the Workload API gave no JWT-SVID with hint \"{hint}\" for {entry.Audience}; fix hint in the configuration");
        }

        return svids[0];
    }

    /// <summary>Fetches a JWT-SVID, then again at half its remaining lifetime; failures are retried with backoff.</summary>
    private async Task RefreshJwtSvidAsync(HelperJwtSvid entry, CancellationToken cancellationToken)
    {
        TimeSpan retry = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                JwtSvid svid = await FetchJwtSvidAsync(entry, cancellationToken).ConfigureAwait(false);
                _updates.Writer.TryWrite((entry, svid));
                TimeSpan left = svid.ExpiresAt - DateTimeOffset.UtcNow;
                wait = left > TimeSpan.FromSeconds(2) ? left / 2 : TimeSpan.FromSeconds(1);
                retry = TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is WorkloadApiException or CliException)
            {
                _updates.Writer.TryWrite(e is WorkloadApiException w ? w : e.Message);
                wait = retry;
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, s_maxJwtRetryDelay.Ticks));
            }

            try
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task WatchAsync<T>(Func<IWorkloadApiWatcher<T>, CancellationToken, Task> watch, CancellationToken cancellationToken)
        where T : notnull
    {
        try
        {
            await watch(new ChannelWatcher<T>(_updates.Writer), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (WorkloadApiException)
        {
            // Not retried (e.g. InvalidArgument): the command fails with it.
            _updates.Writer.TryComplete();
            throw;
        }
    }

    /// <summary>Starts cmd and restarts it whenever it exits, waiting longer after each exit in a row.</summary>
    private async Task SuperviseAsync(CancellationToken cancellationToken)
    {
        TimeSpan delay = RestartDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            Process process;
            try
            {
                process = StartProcess();
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                await ComplainAsync($"cannot start cmd {config.Cmd}: {e.Message.TrimEnd('.')}; retrying in {Duration.Format(delay)}; check cmd in the configuration").ConfigureAwait(false);
                if (!await DelayAsync(delay, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                delay = Next(delay);
                continue;
            }

            await SayAsync($"started {config.Cmd} (pid {process.Id})").ConfigureAwait(false);
            long started = Stopwatch.GetTimestamp();
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return; // StopProcessAsync ends it.
            }

            int code = process.ExitCode;
            lock (_processGate)
            {
                _process = null;
            }

            process.Dispose();

            // A run that lasted a while was not a crash loop: start again from the first delay.
            if (Stopwatch.GetElapsedTime(started) > s_maxRestartDelay)
            {
                delay = RestartDelay;
            }

            await ComplainAsync($"{config.Cmd} exited with code {code}; restarting it in {Duration.Format(delay)}").ConfigureAwait(false);
            if (!await DelayAsync(delay, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            delay = Next(delay);
        }
    }

    private TimeSpan Next(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Math.Max(s_maxRestartDelay.Ticks, RestartDelay.Ticks)));

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private Process StartProcess()
    {
        var start = new ProcessStartInfo(config.Cmd!) { UseShellExecute = false };
        foreach (string argument in CommandLineWords.Split(config.CmdArgs ?? string.Empty))
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("no process was started");
        lock (_processGate)
        {
            _process = process;
        }

        return process;
    }

    private async Task StopProcessAsync()
    {
        Process? process;
        lock (_processGate)
        {
            process = _process;
            _process = null;
        }

        if (process is null)
        {
            return;
        }

        using (process)
        {
            try
            {
                if (process.HasExited)
                {
                    return;
                }

                if (!OperatingSystem.IsWindows())
                {
                    ProcessSignals.Send(process.Id, "SIGTERM");
                }

                using var grace = new CancellationTokenSource(s_stopGrace);
                await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or CliException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Tells cmd and the process in pid_file_name to reload; a failure is reported and does not stop the helper.</summary>
    private async Task SignalAsync()
    {
        if (config.RenewSignal is not { } signal)
        {
            return;
        }

        int? pid;
        lock (_processGate)
        {
            pid = _process is { HasExited: false } p ? p.Id : null;
        }

        if (pid is { } cmdPid)
        {
            await SendAsync(cmdPid, signal).ConfigureAwait(false);
        }

        if (config.PidFileName is { } pidFile)
        {
            string text;
            try
            {
                text = (await File.ReadAllTextAsync(pidFile).ConfigureAwait(false)).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await ComplainAsync($"cannot read pid_file_name {pidFile}: {e.Message.TrimEnd('.')}; the process there was not signalled").ConfigureAwait(false);
                return;
            }

            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int filePid))
            {
                await ComplainAsync($"pid_file_name {pidFile} does not hold a process id; the process there was not signalled").ConfigureAwait(false);
                return;
            }

            await SendAsync(filePid, signal).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(int pid, string signal)
    {
        try
        {
            ProcessSignals.Send(pid, signal);
            await SayAsync($"sent {signal} to pid {pid}").ConfigureAwait(false);
        }
        catch (CliException e)
        {
            await ComplainAsync(e.Message).ConfigureAwait(false);
        }
    }

    private async Task SayAsync(string line)
    {
        await output.WriteLineAsync("helper: " + line).ConfigureAwait(false);
        await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private async Task ComplainAsync(string line)
    {
        await error.WriteLineAsync("spiffe: helper: " + line.ReplaceLineEndings(" ")).ConfigureAwait(false);
        await error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }
}

using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;

namespace Spiffe.Tls;

/// <summary>Settings shared by <see cref="SpiffeTlsServer"/> and <see cref="SpiffeTlsClient"/>; validated when one is created.</summary>
public sealed class SpiffeTlsOptions
{
    /// <summary>
    /// Whether TLS sessions may be resumed. Default: true on Linux, false elsewhere.
    /// </summary>
    /// <remarks>
    /// RFC 8446 lets a resumed session skip peer validation. On Linux (.NET 10, OpenSSL) SslStream
    /// was verified to run the validation callback on every resumed handshake, on both sides, with
    /// the peer's leaf alone; the SDK accepts that leaf only if it was fully validated earlier
    /// (from the certificates the peer presented then) against the bundle set in force now, still
    /// checks the chain's validity period, and authorizes the SPIFFE ID again. So bundle removals
    /// and authorizer changes apply to resumed connections too, and a peer that never presents its
    /// intermediates is refused every time. .NET does not say whether a handshake resumed, so while
    /// this is true a full handshake that presents such an already validated leaf without its
    /// intermediates is accepted as well; while it is false a leaf alone is always refused. That is what the tests check, so resumption is on by
    /// default there (measured on a loaded machine, a resumed handshake cost 0.86x a full one for raw
    /// SslStream and about 0.9x for the SDK, within noise: see benchmarks/README.md). On Windows and macOS this re-validation has not been verified, so the
    /// default is off there. Setting false also avoids dotnet/runtime#123238 (a resumed TLS 1.3
    /// client session reports no local certificate, DOTNET-NOTES §2.9 pitfall 11).
    /// </remarks>
    public bool AllowTlsResume { get; set; } = OperatingSystem.IsLinux();

    /// <summary>The TLS versions to offer: TLS 1.2 and TLS 1.3 by default. Nothing below TLS 1.2 is accepted.</summary>
    public SslProtocols EnabledSslProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>The ALPN protocols to offer (e.g. h2, http/1.1); null leaves ALPN to the caller.</summary>
    public IReadOnlyList<SslApplicationProtocol>? ApplicationProtocols { get; set; }

    /// <summary>
    /// Where refused handshakes are logged (category <c>Spiffe.Tls</c>, event IDs in docs/telemetry.md):
    /// a Warning per refused peer with the reason and the SPIFFE ID it presented. Null: not logged.
    /// Kestrel's <c>UseSpiffeMtls</c> uses the host's logger factory when this is null.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Where the <c>spiffe.tls.handshakes</c> counter is created (meter <c>Spiffe.Core</c>). Null: a
    /// static meter of that name. Kestrel's <c>UseSpiffeMtls</c> uses the host's meter factory when this is null.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// Called once for each refused peer, after the refusal is counted and logged, on the handshake's
    /// thread (inside the certificate validation callback): keep it short and non-blocking. An
    /// exception it throws is logged and ignored. Kestrel's <c>UseSpiffeMtls</c> adds the audit trail
    /// here when <c>AddSpiffeAudit()</c> is registered. Null: nobody is called.
    /// </summary>
    public Action<TlsPeerRefusal>? PeerRefused { get; set; }

    /// <summary>
    /// How long a Kestrel endpoint (<c>UseSpiffeMtls</c>, <c>UseSpiffeTls</c>) waits for a TLS
    /// handshake; null keeps Kestrel's default (10 s). <c>SslStream</c> callers bound the handshake
    /// with their cancellation token instead.
    /// </summary>
    public TimeSpan? HandshakeTimeout { get; set; }

    internal static SpiffeTlsOptions Validate(SpiffeTlsOptions? options, string parameterName)
    {
        options ??= new SpiffeTlsOptions();
        const SslProtocols Allowed = SslProtocols.Tls12 | SslProtocols.Tls13;
        if (options.EnabledSslProtocols == SslProtocols.None || (options.EnabledSslProtocols & ~Allowed) != 0)
        {
            throw new ArgumentException($"SpiffeTlsOptions.EnabledSslProtocols is {options.EnabledSslProtocols}; use Tls12, Tls13 or both (TLS 1.2 is the minimum).", parameterName);
        }

        if (options.HandshakeTimeout is { } timeout && timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"SpiffeTlsOptions.HandshakeTimeout is {timeout}; it must be positive (or infinite).", parameterName);
        }

        return options.Copy();
    }

    /// <summary>A copy with the same settings (the ALPN list copied).</summary>
    internal SpiffeTlsOptions Copy() => new()
    {
        AllowTlsResume = AllowTlsResume,
        EnabledSslProtocols = EnabledSslProtocols,
        ApplicationProtocols = ApplicationProtocols is null ? null : [.. ApplicationProtocols],
        LoggerFactory = LoggerFactory,
        MeterFactory = MeterFactory,
        HandshakeTimeout = HandshakeTimeout,
        PeerRefused = PeerRefused,
    };

    internal List<SslApplicationProtocol>? CopyApplicationProtocols() =>
        ApplicationProtocols is null ? null : [.. ApplicationProtocols];
}

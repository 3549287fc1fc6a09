using System.Net.Security;
using System.Security.Authentication;

namespace Spiffe.Tls;

/// <summary>Settings shared by <see cref="SpiffeTlsServer"/> and <see cref="SpiffeTlsClient"/>; validated when one is created.</summary>
public sealed class SpiffeTlsOptions
{
    /// <summary>
    /// Whether TLS sessions may be resumed (default true). RFC 8446 lets a resumed session skip
    /// peer validation; on Linux with .NET 10 SslStream was observed to run the validation callback
    /// again (with the peer's leaf only, which the SDK completes with intermediates learned from
    /// earlier full handshakes), but that is platform behaviour, not a guarantee. Set false when
    /// every connection must be fully re-authenticated, so bundle removals and authorizer changes
    /// apply to each new connection; it also avoids dotnet/runtime#123238 (a resumed TLS 1.3
    /// client session reports no local certificate, DOTNET-NOTES §2.9 pitfall 11).
    /// </summary>
    public bool AllowTlsResume { get; set; } = true;

    /// <summary>The TLS versions to offer: TLS 1.2 and TLS 1.3 by default. Nothing below TLS 1.2 is accepted.</summary>
    public SslProtocols EnabledSslProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>The ALPN protocols to offer (e.g. h2, http/1.1); null leaves ALPN to the caller.</summary>
    public IReadOnlyList<SslApplicationProtocol>? ApplicationProtocols { get; set; }

    internal static SpiffeTlsOptions Validate(SpiffeTlsOptions? options, string parameterName)
    {
        options ??= new SpiffeTlsOptions();
        const SslProtocols Allowed = SslProtocols.Tls12 | SslProtocols.Tls13;
        if (options.EnabledSslProtocols == SslProtocols.None || (options.EnabledSslProtocols & ~Allowed) != 0)
        {
            throw new ArgumentException($"SpiffeTlsOptions.EnabledSslProtocols is {options.EnabledSslProtocols}; use Tls12, Tls13 or both (TLS 1.2 is the minimum).", parameterName);
        }

        return new SpiffeTlsOptions
        {
            AllowTlsResume = options.AllowTlsResume,
            EnabledSslProtocols = options.EnabledSslProtocols,
            ApplicationProtocols = options.ApplicationProtocols is null ? null : [.. options.ApplicationProtocols],
        };
    }

    internal List<SslApplicationProtocol>? CopyApplicationProtocols() =>
        ApplicationProtocols is null ? null : [.. ApplicationProtocols];
}

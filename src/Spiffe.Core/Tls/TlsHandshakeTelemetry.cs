using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Spiffe.Tls;

/// <summary>
/// The handshake outcomes of one <see cref="SpiffeTlsServer"/> or <see cref="SpiffeTlsClient"/>:
/// the <c>spiffe.tls.handshakes</c> counter (from <see cref="SpiffeTlsOptions.MeterFactory"/>, or
/// the static <c>Spiffe.Core</c> meter) and the refusal log (from <see cref="SpiffeTlsOptions.LoggerFactory"/>).
/// </summary>
internal sealed class TlsHandshakeTelemetry
{
    /// <summary>The meter name, with or without DI.</summary>
    internal const string MeterName = "Spiffe.Core";

    /// <summary>The counter's name.</summary>
    internal const string HandshakesInstrument = "spiffe.tls.handshakes";

    private static readonly Meter s_staticMeter = new(MeterName, typeof(TlsHandshakeTelemetry).Assembly.GetName().Version?.ToString());
    private static readonly Counter<long> s_staticHandshakes = CreateCounter(s_staticMeter);

    private readonly Counter<long> _handshakes;
    private readonly KeyValuePair<string, object?> _role;
    private readonly string _roleName;
    private readonly Action<TlsPeerRefusal>? _peerRefused;

    internal TlsHandshakeTelemetry(string role, SpiffeTlsOptions options)
    {
        _roleName = role;
        _role = new KeyValuePair<string, object?>("role", role);
        _handshakes = options.MeterFactory is { } factory ? CreateCounter(factory.Create(MeterName)) : s_staticHandshakes;
        Logger = options.LoggerFactory?.CreateLogger("Spiffe.Tls") ?? NullLogger.Instance;
        _peerRefused = options.PeerRefused;
    }

    internal ILogger Logger { get; }

    internal void Accepted(bool fromEarlierValidation, SpiffeId id, string? peer)
    {
        _handshakes.Add(1, _role, new KeyValuePair<string, object?>("result", "accepted"));
        if (fromEarlierValidation && Logger.IsEnabled(LogLevel.Debug))
        {
            SpiffeTlsLog.AcceptedFromEarlierValidation(Logger, _roleName, id.ToString(), peer ?? "(unknown)");
        }
    }

    internal void Refused(TlsRefusal refusal, string? peer)
    {
        _handshakes.Add(1, _role, new KeyValuePair<string, object?>("result", "refused"), new KeyValuePair<string, object?>("reason", refusal.Reason.ToTagValue()));
        SpiffeTlsLog.HandshakeRefused(Logger, _roleName, peer ?? "(unknown)", refusal.Reason.ToTagValue(), refusal.PresentedId?.ToString() ?? "(none)", refusal.Detail);
        if (_peerRefused is { } callback)
        {
            try
            {
                callback(new TlsPeerRefusal(_roleName, refusal.Reason.ToTagValue(), refusal.PresentedId, peer, refusal.Detail));
            }
#pragma warning disable CA1031 // a failing observer must not change the handshake's outcome or hide the refusal
            catch (Exception e)
#pragma warning restore CA1031
            {
                SpiffeTlsLog.PeerRefusedCallbackFailed(Logger, _roleName, e);
            }
        }
    }

    private static Counter<long> CreateCounter(Meter meter) =>
        meter.CreateCounter<long>(HandshakesInstrument, unit: "{handshake}", description: "TLS handshakes whose peer the SDK validated, by result (accepted, refused) and refusal reason.");
}

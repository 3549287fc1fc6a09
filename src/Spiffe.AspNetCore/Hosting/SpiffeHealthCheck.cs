using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Spiffe.Files;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Hosting;

/// <summary>
/// The workload's SPIFFE identity as a health check: Healthy with a current SVID; Degraded when the
/// SVID is valid but the Workload API is failing (unreachable, stream ended, message discarded) or the
/// SVID expires within the margin; the registration's failure status (Unhealthy by default) with no SVID
/// or an expired one. The data holds the SPIFFE ID, expiry, last update and last error, never key material.
/// </summary>
internal sealed class SpiffeHealthCheck : IHealthCheck
{
    private readonly IX509SvidSource _source;
    private readonly Func<DateTimeOffset?> _lastUpdatedAt;
    private readonly Func<string?> _lastError;
    private readonly string _address;
    private readonly string _failingWhat;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _expiryMargin;

    public SpiffeHealthCheck(X509Source source, TimeProvider timeProvider, TimeSpan expiryMargin)
        : this(source, () => source.LastUpdatedAt, () => source.LastError?.Message, source.Address.ToString(), "the Workload API is failing", timeProvider, expiryMargin)
    {
    }

    public SpiffeHealthCheck(FileX509Source source, TimeProvider timeProvider, TimeSpan expiryMargin)
        : this(source, () => source.LastUpdatedAt, () => source.LastError, source.Directory, "the SVID files are rejected", timeProvider, expiryMargin)
    {
    }

    private SpiffeHealthCheck(IX509SvidSource source, Func<DateTimeOffset?> lastUpdatedAt, Func<string?> lastError, string address, string failingWhat, TimeProvider timeProvider, TimeSpan expiryMargin)
    {
        _source = source;
        _lastUpdatedAt = lastUpdatedAt;
        _lastError = lastError;
        _address = address;
        _failingWhat = failingWhat;
        _timeProvider = timeProvider;
        _expiryMargin = expiryMargin;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        HealthStatus failure = context.Registration.FailureStatus;
        string? lastError = _lastError();
        Dictionary<string, object> data = new(StringComparer.Ordinal) { ["address"] = _address };
        if (_lastUpdatedAt() is { } updated)
        {
            data["last_update"] = updated.ToString("o", CultureInfo.InvariantCulture);
        }

        if (lastError is not null)
        {
            data["last_error"] = lastError;
        }

        X509Svid svid;
        try
        {
            svid = _source.GetX509Svid();
        }
        catch (SpiffeException e)
        {
            return Task.FromResult(new HealthCheckResult(failure, e.Message, data: data));
        }

        DateTimeOffset now = _timeProvider.GetUtcNow();
        data["spiffe_id"] = svid.Id.ToString();
        data["expires_at"] = svid.ExpiresAt.ToString("o", CultureInfo.InvariantCulture);
        TimeSpan left = svid.ExpiresAt - now;
        HealthCheckResult result;
        if (left <= TimeSpan.Zero)
        {
            result = new HealthCheckResult(failure, $"The X509-SVID {svid.Id} expired at {svid.ExpiresAt:o} and no newer one arrived.", data: data);
        }
        else if (left <= _expiryMargin)
        {
            result = HealthCheckResult.Degraded(Invariant($"The X509-SVID {svid.Id} expires in {left.TotalSeconds:0} s ({svid.ExpiresAt:o}) and no newer one has arrived."), data: data);
        }
        else if (lastError is not null)
        {
            result = HealthCheckResult.Degraded($"The X509-SVID {svid.Id} is valid until {svid.ExpiresAt:o}, but {_failingWhat}: {lastError}", data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy($"X509-SVID {svid.Id} valid until {svid.ExpiresAt:o}.", data);
        }

        return Task.FromResult(result);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

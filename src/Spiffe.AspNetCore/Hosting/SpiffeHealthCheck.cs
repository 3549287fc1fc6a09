using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Hosting;

/// <summary>
/// The workload's SPIFFE identity as a health check: Healthy with a current SVID; Degraded when the
/// SVID is valid but the Workload API is failing (unreachable, stream ended, message discarded) or the
/// SVID expires within the margin; the registration's failure status (Unhealthy by default) with no SVID
/// or an expired one. The data holds the SPIFFE ID, expiry, last update and last error, never key material.
/// </summary>
internal sealed class SpiffeHealthCheck(X509Source source, TimeProvider timeProvider, TimeSpan expiryMargin) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        HealthStatus failure = context.Registration.FailureStatus;
        WorkloadApiException? lastError = source.LastError;
        Dictionary<string, object> data = new(StringComparer.Ordinal) { ["address"] = source.Address.ToString() };
        if (source.LastUpdatedAt is { } updated)
        {
            data["last_update"] = updated.ToString("o", CultureInfo.InvariantCulture);
        }

        if (lastError is not null)
        {
            data["last_error"] = lastError.Message;
        }

        X509Svid svid;
        try
        {
            svid = source.GetX509Svid();
        }
        catch (WorkloadApiException e)
        {
            return Task.FromResult(new HealthCheckResult(failure, e.Message, data: data));
        }

        DateTimeOffset now = timeProvider.GetUtcNow();
        data["spiffe_id"] = svid.Id.ToString();
        data["expires_at"] = svid.ExpiresAt.ToString("o", CultureInfo.InvariantCulture);
        TimeSpan left = svid.ExpiresAt - now;
        HealthCheckResult result;
        if (left <= TimeSpan.Zero)
        {
            result = new HealthCheckResult(failure, $"The X509-SVID {svid.Id} expired at {svid.ExpiresAt:o} and no newer one arrived.", data: data);
        }
        else if (left <= expiryMargin)
        {
            result = HealthCheckResult.Degraded(Invariant($"The X509-SVID {svid.Id} expires in {left.TotalSeconds:0} s ({svid.ExpiresAt:o}) and no newer one has arrived."), data: data);
        }
        else if (lastError is not null)
        {
            result = HealthCheckResult.Degraded($"The X509-SVID {svid.Id} is valid until {svid.ExpiresAt:o}, but the Workload API is failing: {lastError.Message}", data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy($"X509-SVID {svid.Id} valid until {svid.ExpiresAt:o}.", data);
        }

        return Task.FromResult(result);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

using Microsoft.Extensions.Options;

namespace Spiffe.AspNetCore.Opa;

/// <summary>Validates <see cref="OpaAuthorizationOptions"/> once, at start (<c>ValidateOnStart</c>).</summary>
internal sealed class OpaAuthorizationOptionsValidator : IValidateOptions<OpaAuthorizationOptions>
{
    private static readonly TimeSpan s_pollyMinimum = TimeSpan.FromMilliseconds(500);

    public ValidateOptionsResult Validate(string? name, OpaAuthorizationOptions options)
    {
        var failures = new List<string>();
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add("OpaAuthorizationOptions.Endpoint must be an absolute http or https address of OPA, e.g. http://127.0.0.1:8181/.");
        }
        else if (!string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment))
        {
            failures.Add("OpaAuthorizationOptions.Endpoint must not have a query or fragment.");
        }

        string path = options.DecisionPath?.Trim('/') ?? string.Empty;
        if (path.Length == 0 || path.Split('/').Any(static s => s.Length == 0 || s.Any(static c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))))
        {
            failures.Add("OpaAuthorizationOptions.DecisionPath must be a rule path such as http/authz/allow (segments of letters, digits, '_' or '-').");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromDays(1))
        {
            failures.Add("OpaAuthorizationOptions.Timeout must be positive.");
        }

        if (options.CacheTtl < TimeSpan.Zero)
        {
            failures.Add("OpaAuthorizationOptions.CacheTtl must not be negative (zero disables the cache).");
        }

        if (options.CacheSize < 0)
        {
            failures.Add("OpaAuthorizationOptions.CacheSize must not be negative (zero disables the cache).");
        }

        if (options.BreakerFailureRatio is not (> 0 and <= 1))
        {
            failures.Add("OpaAuthorizationOptions.BreakerFailureRatio must be in (0, 1].");
        }

        if (options.BreakerMinimumThroughput < 2)
        {
            failures.Add("OpaAuthorizationOptions.BreakerMinimumThroughput must be at least 2.");
        }

        if (options.BreakerSamplingDuration < s_pollyMinimum || options.BreakDuration < s_pollyMinimum)
        {
            failures.Add("OpaAuthorizationOptions.BreakerSamplingDuration and BreakDuration must be at least 500 ms.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

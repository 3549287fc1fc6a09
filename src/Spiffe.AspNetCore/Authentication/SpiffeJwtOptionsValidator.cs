using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spiffe.Bundles;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>Validates the options of one JWT scheme at startup (<c>ValidateOnStart</c>).</summary>
internal sealed class SpiffeJwtOptionsValidator(string scheme, IServiceProviderIsService services) : IValidateOptions<SpiffeJwtAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, SpiffeJwtAuthenticationOptions options)
    {
        if (!string.Equals(name, scheme, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        List<string> failures = [];
        if (options.BundleSource is null && options.Validator is null && !services.IsService(typeof(IJwtBundleSource)))
        {
            failures.Add(NoBundleSource(scheme));
        }

        if (options.Validator is null)
        {
            if (options.Audiences is null || options.Audiences.Count == 0)
            {
                failures.Add($"The JWT-SVID authentication scheme '{scheme}' has no audiences: set Audiences to what this service accepts (usually its own SPIFFE ID); without one it would accept tokens meant for anyone.");
            }
            else if (options.Audiences.Any(string.IsNullOrEmpty))
            {
                failures.Add($"The JWT-SVID authentication scheme '{scheme}' has a null or empty audience.");
            }

            if (options.Leeway is { } leeway && (leeway < TimeSpan.Zero || leeway > JwtSvidValidator.MaxLeeway))
            {
                failures.Add($"The JWT-SVID authentication scheme '{scheme}' has leeway {leeway}; it must be between 0 and {JwtSvidValidator.MaxLeeway.TotalSeconds:0} seconds.");
            }
        }

        if (options.CacheSize < 0)
        {
            failures.Add($"The JWT-SVID authentication scheme '{scheme}' has a negative CacheSize; use 0 to turn the cache off.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static string NoBundleSource(string scheme) =>
        $"The JWT-SVID authentication scheme '{scheme}' has no JWT bundle source: set BundleSource, or register an IJwtBundleSource (services.AddSpiffe() registers the Workload API JwtSource).";
}

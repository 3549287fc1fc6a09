using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spiffe.AspNetCore.Authentication;
using Spiffe.Jwt;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// Makes the endpoint shorthands (<c>RequireSpiffeId</c>, <c>RequireTrustDomain</c>, <c>RequireJwtSvid</c>)
/// run on the schemes and requirements, not on a path of their own: the mTLS scheme is added under
/// its default name when the app did not register it, and each <c>RequireJwtSvid</c> gets a JWT
/// scheme of its own that uses the endpoint's validator.
/// </summary>
internal static class SpiffeEndpointSchemes
{
    private static int s_nextJwtScheme;

    public static void EnsureX509Scheme(IServiceProvider services, string shorthand)
    {
        IAuthenticationSchemeProvider schemes = GetSchemeProvider(services, shorthand);
        if (schemes.GetSchemeAsync(SpiffeAuthenticationDefaults.X509Scheme).GetAwaiter().GetResult() is null)
        {
            schemes.TryAddScheme(new AuthenticationScheme(SpiffeAuthenticationDefaults.X509Scheme, displayName: null, typeof(SpiffeX509AuthenticationHandler)));
        }
    }

    public static string NextJwtSchemeName() =>
        $"{SpiffeAuthenticationDefaults.JwtScheme}.Endpoint{Interlocked.Increment(ref s_nextJwtScheme)}";

    public static void AddJwtScheme(IServiceProvider services, string scheme, JwtSvidValidator validator)
    {
        IAuthenticationSchemeProvider schemes = GetSchemeProvider(services, "RequireJwtSvid");
        services.GetRequiredService<IOptionsMonitorCache<SpiffeJwtAuthenticationOptions>>()
            .TryAdd(scheme, new SpiffeJwtAuthenticationOptions { Validator = validator });
        schemes.TryAddScheme(new AuthenticationScheme(scheme, displayName: null, typeof(SpiffeJwtAuthenticationHandler)));
    }

    private static IAuthenticationSchemeProvider GetSchemeProvider(IServiceProvider services, string shorthand)
    {
        if (services.GetService<IAuthorizationPolicyProvider>() is null)
        {
            throw new InvalidOperationException($"{shorthand} needs ASP.NET Core authorization: call builder.Services.AddAuthorization() (or AddSpiffeAuthorization()).");
        }

        return services.GetService<IAuthenticationSchemeProvider>()
            ?? throw new InvalidOperationException($"{shorthand} needs ASP.NET Core authentication: call builder.Services.AddAuthentication() (AddSpiffeX509()/AddSpiffeJwt() register the SPIFFE schemes).");
    }
}

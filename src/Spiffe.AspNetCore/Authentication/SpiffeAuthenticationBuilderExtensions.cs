using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>Registers the SPIFFE authentication schemes.</summary>
/// <remarks>
/// <code>
/// builder.Services.AddAuthentication()
///     .AddSpiffeX509()                                                  // the verified mTLS peer
///     .AddSpiffeJwt(o => o.Audiences = ["spiffe://example.org/orders"]); // Authorization: Bearer &lt;JWT-SVID&gt;
/// </code>
/// </remarks>
public static class SpiffeAuthenticationBuilderExtensions
{
    /// <summary>
    /// Adds the mTLS scheme (<see cref="SpiffeAuthenticationDefaults.X509Scheme"/>): a principal from
    /// the peer that this connection's <c>UseSpiffeMtls</c> handshake verified (<see cref="ISpiffePeerFeature"/>),
    /// never from <c>Connection.ClientCertificate</c>. No result on other connections.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static AuthenticationBuilder AddSpiffeX509(this AuthenticationBuilder builder) =>
        AddSpiffeX509(builder, SpiffeAuthenticationDefaults.X509Scheme, configure: null);

    /// <summary>Adds the mTLS scheme under its default name, with options (e.g. <see cref="SpiffeX509AuthenticationOptions.Events"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static AuthenticationBuilder AddSpiffeX509(this AuthenticationBuilder builder, Action<SpiffeX509AuthenticationOptions>? configure) =>
        AddSpiffeX509(builder, SpiffeAuthenticationDefaults.X509Scheme, configure);

    /// <summary>Adds the mTLS scheme under <paramref name="authenticationScheme"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="authenticationScheme"/> is null.</exception>
    public static AuthenticationBuilder AddSpiffeX509(this AuthenticationBuilder builder, string authenticationScheme, Action<SpiffeX509AuthenticationOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authenticationScheme);
        return builder.AddScheme<SpiffeX509AuthenticationOptions, SpiffeX509AuthenticationHandler>(authenticationScheme, displayName: "SPIFFE X509-SVID (mTLS)", configure);
    }

    /// <summary>
    /// Adds the JWT-SVID bearer scheme (<see cref="SpiffeAuthenticationDefaults.JwtScheme"/>). The
    /// options are validated at startup: <see cref="SpiffeJwtAuthenticationOptions.Audiences"/> must
    /// not be empty and a bundle source must be set or registered.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is null.</exception>
    public static AuthenticationBuilder AddSpiffeJwt(this AuthenticationBuilder builder, Action<SpiffeJwtAuthenticationOptions> configure) =>
        AddSpiffeJwt(builder, SpiffeAuthenticationDefaults.JwtScheme, configure);

    /// <summary>Adds the JWT-SVID bearer scheme under <paramref name="authenticationScheme"/>.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static AuthenticationBuilder AddSpiffeJwt(this AuthenticationBuilder builder, string authenticationScheme, Action<SpiffeJwtAuthenticationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authenticationScheme);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddSingleton<IValidateOptions<SpiffeJwtAuthenticationOptions>>(
            services => new SpiffeJwtOptionsValidator(authenticationScheme, services.GetRequiredService<IServiceProviderIsService>()));
        builder.Services.AddOptions<SpiffeJwtAuthenticationOptions>(authenticationScheme).ValidateOnStart();
        return builder.AddScheme<SpiffeJwtAuthenticationOptions, SpiffeJwtAuthenticationHandler>(authenticationScheme, displayName: "SPIFFE JWT-SVID (bearer)", configure);
    }
}

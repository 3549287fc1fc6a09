namespace Spiffe.Tls;

/// <summary>Settings for <see cref="SpiffeHttpHandler"/>; validated and copied when the handler is created.</summary>
public sealed class SpiffeHttpHandlerOptions
{
    /// <summary>The upper bound of <see cref="PooledConnectionLifetime"/>: 5 minutes.</summary>
    public static readonly TimeSpan MaxPooledConnectionLifetime = TimeSpan.FromMinutes(5);

    /// <summary>TLS settings (resumption, versions, ALPN); defaults when null.</summary>
    public SpiffeTlsOptions? Tls { get; set; }

    /// <summary>
    /// How long a pooled connection is reused before it is closed and a new handshake is made
    /// (default and maximum 5 minutes). TLS authenticates only at the handshake, so this bounds how
    /// long a connection keeps an old SVID or a peer whose trust was withdrawn. Values above the
    /// maximum are capped, and each inner handler also caps it at a quarter of the validity period
    /// of the SVID it presents (SVIDs living 20 minutes or less get shorter-lived connections).
    /// </summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = MaxPooledConnectionLifetime;

    /// <summary>
    /// How long a retired inner handler (built for an SVID or bundle set that has since changed)
    /// is kept so requests and response bodies in flight on it can finish (default 1 minute). It
    /// is disposed after this period once no <c>SendAsync</c> call is running on it.
    /// </summary>
    public TimeSpan DrainPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Configures each inner <see cref="SocketsHttpHandler"/> (proxy, timeouts, HTTP/2 settings)
    /// before the SDK sets its <see cref="SocketsHttpHandler.SslOptions"/> and
    /// <see cref="SocketsHttpHandler.PooledConnectionLifetime"/>; called once per inner handler.
    /// </summary>
    public Action<SocketsHttpHandler>? ConfigureHandler { get; set; }

    /// <summary>The clock that times the drain of retired handlers. Default: the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal static SpiffeHttpHandlerOptions Validate(SpiffeHttpHandlerOptions? options, string parameterName)
    {
        options ??= new SpiffeHttpHandlerOptions();
        if (options.PooledConnectionLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException($"SpiffeHttpHandlerOptions.PooledConnectionLifetime is {options.PooledConnectionLifetime}; it must be positive.", parameterName);
        }

        if (options.DrainPeriod < TimeSpan.Zero)
        {
            throw new ArgumentException($"SpiffeHttpHandlerOptions.DrainPeriod is {options.DrainPeriod}; it must not be negative.", parameterName);
        }

        ArgumentNullException.ThrowIfNull(options.TimeProvider, parameterName);
        return new SpiffeHttpHandlerOptions
        {
            Tls = SpiffeTlsOptions.Validate(options.Tls, parameterName),
            PooledConnectionLifetime = options.PooledConnectionLifetime < MaxPooledConnectionLifetime ? options.PooledConnectionLifetime : MaxPooledConnectionLifetime,
            DrainPeriod = options.DrainPeriod,
            ConfigureHandler = options.ConfigureHandler,
            TimeProvider = options.TimeProvider,
        };
    }
}

namespace Spiffe.Load;

/// <summary>The servers the load measures, each in its own process.</summary>
internal enum ServerMode
{
    /// <summary>Kestrel + <c>UseSpiffeMtls</c> + <c>AddSpiffeX509</c> + a <c>RequireSpiffeId</c> policy on the endpoint.</summary>
    SpiffePolicy,

    /// <summary>The same <c>UseSpiffeMtls</c> endpoint with no authentication or authorization.</summary>
    NoAuth,

    /// <summary>Plain Kestrel: static certificates from files, <c>RequireCertificate</c>, a CustomRootTrust chain check.</summary>
    RawKestrelMtls,

    /// <summary>
    /// The <c>UseSpiffeMtls</c> endpoint with ASP.NET Core's authentication and authorization but no SPIFFE code in them:
    /// a scheme that returns one prebuilt principal and a <c>RequireAuthenticatedUser</c> policy (what the framework costs alone).
    /// </summary>
    FrameworkFloor,
}

/// <summary>Names of <see cref="ServerMode"/> on the command line.</summary>
internal static class ServerModes
{
    public static string Name(ServerMode mode) => mode switch
    {
        ServerMode.SpiffePolicy => "spiffe-policy",
        ServerMode.NoAuth => "no-auth",
        ServerMode.RawKestrelMtls => "raw-kestrel-mtls",
        ServerMode.FrameworkFloor => "aspnetcore-floor",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static ServerMode Parse(string name) => name switch
    {
        "spiffe-policy" => ServerMode.SpiffePolicy,
        "no-auth" => ServerMode.NoAuth,
        "raw-kestrel-mtls" => ServerMode.RawKestrelMtls,
        "aspnetcore-floor" => ServerMode.FrameworkFloor,
        _ => throw new FormatException($"Unknown server mode '{name}' (spiffe-policy, no-auth, raw-kestrel-mtls, aspnetcore-floor)."),
    };
}

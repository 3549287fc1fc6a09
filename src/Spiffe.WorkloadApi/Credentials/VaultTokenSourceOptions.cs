using Microsoft.Extensions.Logging;
using Spiffe.Jwt;

namespace Spiffe.Credentials;

/// <summary>Where and how <see cref="VaultTokenSource"/> logs in to Vault with a JWT-SVID.</summary>
public sealed class VaultTokenSourceOptions
{
    /// <summary>Vault's address, e.g. <c>https://vault.example.org:8200</c>. Required.</summary>
    public Uri? VaultAddress { get; set; }

    /// <summary>The mount path of the JWT auth method (<c>vault auth enable -path=...</c>); default <c>jwt</c>.</summary>
    public string Mount { get; set; } = "jwt";

    /// <summary>The Vault role to log in as (its <c>bound_audiences</c> and <c>bound_subject</c> must match the JWT-SVID). Required.</summary>
    public string? Role { get; set; }

    /// <summary>The audiences of the JWT-SVID to present (the role's <c>bound_audiences</c>). Required, at least one.</summary>
    public IList<string> Audiences { get; } = [];

    /// <summary>The workload identity to use when it has several; the default identity when null.</summary>
    public SpiffeId? Subject { get; set; }

    /// <summary>Where JWT-SVIDs come from (usually a <c>JwtSource</c>, which refreshes them before they expire). Required; not disposed.</summary>
    public IJwtSvidSource? JwtSvidSource { get; set; }

    /// <summary>The Vault namespace (Vault Enterprise), sent as <c>X-Vault-Namespace</c>; none when null.</summary>
    public string? Namespace { get; set; }

    /// <summary>The HTTP client for Vault (its TLS trust, proxy, timeout); not disposed. A new one (owned and disposed by the source) when null.</summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>How long before the token's lease ends a new login is made; never earlier than half the lease. Default 1 minute.</summary>
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The clock; <see cref="TimeProvider.System"/> when null.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>For the credential log events (IDs 240-249); no logging when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

namespace Spiffe.Credentials;

/// <summary>A Vault client token obtained with a JWT-SVID (<c>auth.client_token</c>, <c>auth.lease_duration</c>).</summary>
public sealed class VaultToken
{
    /// <summary>Creates a token.</summary>
    /// <param name="clientToken">The <c>X-Vault-Token</c> value.</param>
    /// <param name="expiresAt">When the lease ends.</param>
    /// <param name="renewable">Vault's <c>auth.renewable</c>.</param>
    public VaultToken(string clientToken, DateTimeOffset expiresAt, bool renewable)
    {
        ArgumentException.ThrowIfNullOrEmpty(clientToken);
        ClientToken = clientToken;
        ExpiresAt = expiresAt;
        Renewable = renewable;
    }

    /// <summary>The token, to send as the <c>X-Vault-Token</c> header. Never logged or printed by the SDK.</summary>
    public string ClientToken { get; }

    /// <summary>When the lease ends (the login time plus <c>auth.lease_duration</c>).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>Whether Vault says the token can be renewed.</summary>
    public bool Renewable { get; }

    /// <summary>The expiry only: the token itself is a secret.</summary>
    public override string ToString() => $"VaultToken(expires {ExpiresAt:u})";
}

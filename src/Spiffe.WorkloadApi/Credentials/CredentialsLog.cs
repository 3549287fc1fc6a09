using Microsoft.Extensions.Logging;

namespace Spiffe.Credentials;

/// <summary>Log events of the JWT-SVID credential exchanges (event IDs 240-249). Tokens and keys are never logged.</summary>
internal static partial class CredentialsLog
{
    [LoggerMessage(240, LogLevel.Information, "Vault login with the JWT-SVID of {SpiffeId} at {Url} (role {Role}): token valid until {ExpiresAt:u}")]
    public static partial void VaultLogin(ILogger logger, string spiffeId, Uri url, string role, DateTimeOffset expiresAt);

    [LoggerMessage(241, LogLevel.Information, "AWS STS AssumeRoleWithWebIdentity with the JWT-SVID of {SpiffeId} at {Url} (role {RoleArn}): access key {AccessKeyId} valid until {ExpiresAt:u}")]
    public static partial void AwsAssumeRole(ILogger logger, string spiffeId, Uri url, string roleArn, string accessKeyId, DateTimeOffset expiresAt);

    [LoggerMessage(242, LogLevel.Warning, "Trading the JWT-SVID for credentials at {Url} failed: {Reason}")]
    public static partial void ExchangeFailed(ILogger logger, Uri url, string reason);
}

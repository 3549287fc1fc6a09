namespace Spiffe.Credentials;

/// <summary>Temporary AWS credentials from STS <c>AssumeRoleWithWebIdentity</c> (its <c>Credentials</c> element).</summary>
public sealed class AwsCredentials
{
    /// <summary>Creates the credentials.</summary>
    /// <param name="accessKeyId"><c>AccessKeyId</c>.</param>
    /// <param name="secretAccessKey"><c>SecretAccessKey</c>.</param>
    /// <param name="sessionToken"><c>SessionToken</c>.</param>
    /// <param name="expiresAt"><c>Expiration</c>.</param>
    public AwsCredentials(string accessKeyId, string secretAccessKey, string sessionToken, DateTimeOffset expiresAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessKeyId);
        ArgumentException.ThrowIfNullOrEmpty(secretAccessKey);
        ArgumentException.ThrowIfNullOrEmpty(sessionToken);
        AccessKeyId = accessKeyId;
        SecretAccessKey = secretAccessKey;
        SessionToken = sessionToken;
        ExpiresAt = expiresAt;
    }

    /// <summary>The access key ID (not a secret).</summary>
    public string AccessKeyId { get; }

    /// <summary>The secret access key. Never logged or printed by the SDK.</summary>
    public string SecretAccessKey { get; }

    /// <summary>The session token. Never logged or printed by the SDK.</summary>
    public string SessionToken { get; }

    /// <summary>When the credentials expire.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The access key ID and expiry only: the rest is secret.</summary>
    public override string ToString() => $"AwsCredentials({AccessKeyId}, expires {ExpiresAt:u})";
}

using Microsoft.Extensions.Logging;
using Spiffe.Jwt;

namespace Spiffe.Credentials;

/// <summary>Which role <see cref="AwsCredentialSource"/> assumes with a JWT-SVID, and where.</summary>
public sealed class AwsCredentialSourceOptions
{
    /// <summary>The STS endpoint; default <c>https://sts.amazonaws.com/</c> (use the regional one, e.g. <c>https://sts.eu-west-1.amazonaws.com/</c>, where required).</summary>
    public Uri StsEndpoint { get; set; } = new("https://sts.amazonaws.com/");

    /// <summary>The ARN of the role to assume (its trust policy names the OIDC provider of the SPIFFE trust domain). Required.</summary>
    public string? RoleArn { get; set; }

    /// <summary>The session name recorded in CloudTrail: 2 to 64 of letters, digits and <c>_+=,.@-</c>. Default <c>spiffe-workload</c>.</summary>
    public string RoleSessionName { get; set; } = "spiffe-workload";

    /// <summary>The requested lifetime of the credentials (<c>DurationSeconds</c>, 15 minutes to 12 hours); the role's default when null.</summary>
    public TimeSpan? Duration { get; set; }

    /// <summary>The audiences of the JWT-SVID (the OIDC provider's client ID, e.g. <c>sts.amazonaws.com</c>). Required, at least one.</summary>
    public IList<string> Audiences { get; } = [];

    /// <summary>The workload identity to use when it has several; the default identity when null.</summary>
    public SpiffeId? Subject { get; set; }

    /// <summary>Where JWT-SVIDs come from (usually a <c>JwtSource</c>). Required; not disposed.</summary>
    public IJwtSvidSource? JwtSvidSource { get; set; }

    /// <summary>The HTTP client for STS; not disposed. A new one (owned and disposed by the source) when null.</summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>How long before the credentials expire new ones are requested; never earlier than half their lifetime. Default 5 minutes.</summary>
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The clock; <see cref="TimeProvider.System"/> when null.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>For the credential log events (IDs 240-249); no logging when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

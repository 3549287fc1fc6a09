namespace Spiffe.Samples;

/// <summary>What the credentials sample is told: which identity, and where Vault and STS are (none: the local stand-in).</summary>
internal sealed record CredentialsSettings(
    SpiffeId? Id,
    Uri? VaultUrl,
    string VaultMount,
    string VaultRole,
    string VaultAudience,
    Uri? StsUrl,
    string RoleArn,
    string StsAudience,
    bool Vault,
    bool Aws)
{
    public const string Usage =
        "Spiffe.Samples.Credentials [--id spiffe://example.org/orders] [--services vault,aws] " +
        "[--vault-url https://vault:8200] [--vault-mount jwt] [--vault-role orders] [--vault-audience vault] " +
        "[--sts-url https://sts.amazonaws.com/] [--role-arn arn:aws:iam::123456789012:role/spiffe-orders] [--sts-audience sts.amazonaws.com]";

    /// <exception cref="ArgumentException">A bad or unknown option; the message says which (and the usage).</exception>
    public static CredentialsSettings Parse(string[] args)
    {
        SampleArguments arguments = SampleArguments.Parse(args);
        string idText = arguments.Get("--id", "SAMPLE_SPIFFE_ID", "");
        SpiffeId? id = idText.Length == 0 ? null
            : SpiffeId.TryParse(idText, out SpiffeId? parsed) ? parsed
            : throw new ArgumentException($"--id (SAMPLE_SPIFFE_ID): '{idText}' is not a SPIFFE ID such as spiffe://example.org/orders.");
        string[] services = arguments.Get("--services", "SAMPLE_SERVICES", "vault,aws").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (services.Length == 0 || services.Any(s => s is not ("vault" or "aws")))
        {
            throw new ArgumentException($"--services (SAMPLE_SERVICES): give vault, aws or vault,aws, not '{string.Join(",", services)}'.");
        }

        var settings = new CredentialsSettings(
            id,
            Url(arguments, "--vault-url", "SAMPLE_VAULT_URL"),
            NotEmpty(arguments, "--vault-mount", "SAMPLE_VAULT_MOUNT", "jwt"),
            NotEmpty(arguments, "--vault-role", "SAMPLE_VAULT_ROLE", "orders"),
            NotEmpty(arguments, "--vault-audience", "SAMPLE_VAULT_AUDIENCE", "vault"),
            Url(arguments, "--sts-url", "SAMPLE_STS_URL"),
            NotEmpty(arguments, "--role-arn", "SAMPLE_ROLE_ARN", "arn:aws:iam::123456789012:role/spiffe-orders"),
            NotEmpty(arguments, "--sts-audience", "SAMPLE_STS_AUDIENCE", "sts.amazonaws.com"),
            services.Contains("vault"),
            services.Contains("aws"));
        arguments.ThrowIfUnknownOptions(Usage);
        return settings;
    }

    private static Uri? Url(SampleArguments arguments, string option, string environmentVariable)
    {
        string text = arguments.Get(option, environmentVariable, "");
        return text.Length == 0 ? null
            : Uri.TryCreate(text, UriKind.Absolute, out Uri? url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp) ? url
            : throw new ArgumentException($"{option} ({environmentVariable}): '{text}' is not an http(s):// URL.");
    }

    private static string NotEmpty(SampleArguments arguments, string option, string environmentVariable, string defaultValue)
    {
        string text = arguments.Get(option, environmentVariable, defaultValue);
        return text.Trim().Length > 0 ? text : throw new ArgumentException($"{option} ({environmentVariable}) must not be empty.");
    }
}

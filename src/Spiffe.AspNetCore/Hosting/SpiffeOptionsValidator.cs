using System.Globalization;
using Microsoft.Extensions.Options;
using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore.Hosting;

/// <summary>
/// Validates <see cref="SpiffeOptions"/> once, at host start (<c>ValidateOnStart</c>): every error names
/// its configuration key, the value, why it is wrong and what is allowed.
/// </summary>
/// <remarks>
/// Hand-written rather than a source-generated <c>[OptionsValidator]</c>: the only attribute rule
/// (a TimeSpan range) needs <c>RangeAttribute(Type, string, string)</c>, which is not trim-safe
/// (IL2026), and the SPIFFE rules need code anyway. It uses no reflection, so it is AOT-safe.
/// </remarks>
internal sealed class SpiffeOptionsValidator : IValidateOptions<SpiffeOptions>
{
    private const string Section = SpiffeOptions.SectionName;
    private static readonly TimeSpan MaxStartTimeout = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, SpiffeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> errors = [];
        if (options.StartTimeout <= TimeSpan.Zero || options.StartTimeout > MaxStartTimeout)
        {
            errors.Add(Invariant($"{Section}:StartTimeout is {options.StartTimeout}: it must be more than 0 and at most 1.00:00:00 (a TimeSpan such as \"00:00:30\")."));
        }

        ValidateFiles(options.Files, errors);
        bool filesEnabled = options.Files?.Enabled == true;
        if (options.Sources is null || (!filesEnabled && options.Sources.X509) || options.Sources.Jwt || options.Sources.Bundles)
        {
            ValidateWorkloadApi(options.WorkloadApi, errors); // not needed when every enabled source reads files
        }

        ValidateSources(options, errors);
        if (options.X509 is null)
        {
            errors.Add($"{Section}:X509 is null: leave it out to present the agent's default SVID.");
        }
        else if (!string.IsNullOrEmpty(options.X509.Id) && !SpiffeId.TryParse(options.X509.Id, out _))
        {
            errors.Add($"{Section}:X509:Id: '{options.X509.Id}' is not a SPIFFE ID: {Reason(() => SpiffeId.Parse(options.X509.Id))} Use spiffe://<trust-domain>/<path>, e.g. spiffe://example.org/backend.");
        }

        ValidateAuthorization(options.Authorization, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The peers the configuration admits; null when it admits nobody (no IDs, no trust domains).</summary>
    public static SpiffeIdAuthorizer? CreateAuthorizer(SpiffeAuthorizationOptions options)
    {
        List<SpiffeIdAuthorizer> allowed = [];
        if (options.AllowedIds.Count > 0)
        {
            allowed.Add(SpiffeIdAuthorizer.OneOf(options.AllowedIds.Select(SpiffeId.Parse)));
        }

        allowed.AddRange(options.AllowedTrustDomains.Select(static t => SpiffeIdAuthorizer.MemberOf(TrustDomain.Parse(t))));
        return allowed.Count switch
        {
            0 => null,
            1 => allowed[0],
            _ => SpiffeIdAuthorizer.AnyOf(allowed),
        };
    }

    private static void ValidateWorkloadApi(SpiffeWorkloadApiOptions? options, List<string> errors)
    {
        if (options is null)
        {
            errors.Add($"{Section}:WorkloadApi is null: leave it out to use the defaults.");
            return;
        }

        try
        {
            WorkloadApiAddress.Resolve(options.Address);
        }
        catch (WorkloadApiException e)
        {
            errors.Add(string.IsNullOrWhiteSpace(options.Address)
                ? $"{Section}:WorkloadApi:Address is not set and {e.Message} Allowed: unix:///absolute/path/agent.sock or tcp://IP:port."
                : $"{Section}:WorkloadApi:Address: '{options.Address}' is not a Workload API address: {e.Message} Allowed: unix:///absolute/path/agent.sock or tcp://IP:port.");
        }

        WorkloadApiRetryOptions? retry = options.Retry;
        if (retry is null)
        {
            errors.Add($"{Section}:WorkloadApi:Retry is null: leave it out to use the defaults.");
            return;
        }

        string key = $"{Section}:WorkloadApi:Retry";
        if (retry.InitialBackoff <= TimeSpan.Zero)
        {
            errors.Add(Invariant($"{key}:InitialBackoff is {retry.InitialBackoff}: it must be positive (e.g. \"00:00:00.200\"), so that a watch never retries in a tight loop."));
        }

        if (retry.MaxBackoff < retry.InitialBackoff)
        {
            errors.Add(Invariant($"{key}:MaxBackoff is {retry.MaxBackoff}: it must be at least {key}:InitialBackoff ({retry.InitialBackoff})."));
        }

        if (retry.Multiplier < 1 || double.IsNaN(retry.Multiplier))
        {
            errors.Add(Invariant($"{key}:Multiplier is {retry.Multiplier}: it must be at least 1."));
        }

        if (retry.Jitter is < 0 or >= 1 || double.IsNaN(retry.Jitter))
        {
            errors.Add(Invariant($"{key}:Jitter is {retry.Jitter}: it must be at least 0 and less than 1 (0.2 = ±20 %)."));
        }
    }

    private static void ValidateSources(SpiffeOptions options, List<string> errors)
    {
        if (options.Sources is null || options.Jwt is null)
        {
            errors.Add($"{Section}:{(options.Sources is null ? "Sources" : "Jwt")} is null: leave it out to use the defaults.");
            return;
        }

        if (!options.Sources.X509 && !options.Sources.Jwt && !options.Sources.Bundles && options.Files?.Enabled != true)
        {
            errors.Add($"{Section}:Sources: X509, Jwt and Bundles are all false: enable at least one (X509 is the default), or set {Section}:Files:Directory.");
        }

        for (int i = 0; i < options.Jwt.PrefetchAudiences.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Jwt.PrefetchAudiences[i]))
            {
                errors.Add(Invariant($"{Section}:Jwt:PrefetchAudiences:{i} is empty: an audience is a non-empty string, e.g. spiffe://example.org/backend."));
            }
        }

        if (options.Jwt.PrefetchAudiences.Count > 0 && !options.Sources.Jwt)
        {
            errors.Add($"{Section}:Jwt:PrefetchAudiences is set but {Section}:Sources:Jwt is false: set {Section}:Sources:Jwt to true to fetch JWT-SVIDs.");
        }
    }

    private static void ValidateFiles(SpiffeFilesOptions? options, List<string> errors)
    {
        string key = $"{Section}:Files";
        if (options is null)
        {
            errors.Add($"{key} is null: leave it out to use the Workload API.");
            return;
        }

        if (!options.Enabled)
        {
            string[] set = [.. new (string Name, string? Value)[]
            {
                ("CertificateFileName", options.CertificateFileName),
                ("PrivateKeyFileName", options.PrivateKeyFileName),
                ("BundleFileName", options.BundleFileName),
                ("FederatedBundlesDirectory", options.FederatedBundlesDirectory),
            }.Where(static p => !string.IsNullOrWhiteSpace(p.Value)).Select(static p => p.Name)];
            if (set.Length > 0)
            {
                errors.Add($"{key}:{set[0]} is set but {key}:Directory is not: set {key}:Directory to the directory holding the SVID, key and bundle files (e.g. \"/var/run/secrets/spiffe.io\").");
            }

            return;
        }

        if (!Enum.IsDefined(options.Layout))
        {
            errors.Add(Invariant($"{key}:Layout is {(int)options.Layout}: allowed are CsiDriverSpiffe (tls.crt, tls.key, ca.crt; the default) and SpiffeHelper (svid.pem, svid_key.pem, svid_bundle.pem)."));
        }

        if (options.PollInterval <= TimeSpan.Zero && options.PollInterval != Timeout.InfiniteTimeSpan)
        {
            errors.Add(Invariant($"{key}:PollInterval is {options.PollInterval}: it must be more than 0 (a TimeSpan such as \"00:00:10\"), or -00:00:00.001 to turn polling off."));
        }

        foreach ((string name, string? value) in new (string, string?)[] { ("CertificateFileName", options.CertificateFileName), ("PrivateKeyFileName", options.PrivateKeyFileName), ("BundleFileName", options.BundleFileName) })
        {
            if (value is not null && (value.Length == 0 || value.IndexOfAny(['/', '\\']) >= 0 || value is "." or ".."))
            {
                errors.Add($"{key}:{name}: '{value}' is not a file name: give a name inside {key}:Directory, without '/' (e.g. \"svid.pem\"), or leave it out to use the {key}:Layout's name.");
            }
        }
    }

    private static void ValidateAuthorization(SpiffeAuthorizationOptions? options, List<string> errors)
    {
        if (options is null)
        {
            errors.Add($"{Section}:Authorization is null: leave it out to admit nobody.");
            return;
        }

        for (int i = 0; i < options.AllowedIds.Count; i++)
        {
            string? value = options.AllowedIds[i];
            if (!SpiffeId.TryParse(value, out _))
            {
                errors.Add(Invariant($"{Section}:Authorization:AllowedIds:{i}: '{value}' is not a SPIFFE ID: {Reason(() => SpiffeId.Parse(value ?? string.Empty))} Use spiffe://<trust-domain>/<path>, e.g. spiffe://example.org/ns/prod/sa/frontend (lowercase trust domain; no query, fragment, port, user info, empty, '.' or '..' segment, or trailing '/')."));
            }
        }

        for (int i = 0; i < options.AllowedTrustDomains.Count; i++)
        {
            string? value = options.AllowedTrustDomains[i];
            if (!TrustDomain.TryParse(value, out _))
            {
                errors.Add(Invariant($"{Section}:Authorization:AllowedTrustDomains:{i}: '{value}' is not a trust domain: {Reason(() => TrustDomain.Parse(value ?? string.Empty))} Use a trust domain name such as example.org (lowercase letters, digits, '.', '-', '_') or its ID spiffe://example.org."));
            }
        }
    }

    private static string Reason(Action parse)
    {
        try
        {
            parse();
            return "invalid.";
        }
        catch (FormatException e)
        {
            return e.Message.EndsWith('.') ? e.Message : e.Message + ".";
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

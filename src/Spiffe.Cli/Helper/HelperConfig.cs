using System.Globalization;

namespace Spiffe.Cli.Helper;

/// <summary>One <c>jwt_svids</c> entry: the audiences to ask for and the file to write the token to.</summary>
internal sealed record HelperJwtSvid(string Audience, IReadOnlyList<string> ExtraAudiences, string FileName);

/// <summary>The <c>health_checks</c> block.</summary>
internal sealed record HelperHealthChecks(bool ListenerEnabled, int BindPort, string LivenessPath, string ReadinessPath)
{
    public static HelperHealthChecks Default { get; } = new(false, 8081, "/live", "/ready");
}

/// <summary>
/// A spiffe-helper configuration file, read as it is (same keys, same defaults as its README); unknown keys and
/// values of the wrong kind are errors naming the key and its line.
/// </summary>
internal sealed record HelperConfig
{
    public string? AgentAddress { get; init; }

    public string? Cmd { get; init; }

    public string? CmdArgs { get; init; }

    public string? PidFileName { get; init; }

    public string? RenewSignal { get; init; }

    public string? CertDir { get; init; }

    public bool DaemonMode { get; init; } = true;

    public string? SvidFileName { get; init; }

    public string? SvidKeyFileName { get; init; }

    public string? SvidBundleFileName { get; init; }

    public bool AddIntermediatesToBundle { get; init; }

    public bool IncludeFederatedDomains { get; init; }

    public bool OmitExpired { get; init; }

    public string? Hint { get; init; }

    public IReadOnlyList<HelperJwtSvid> JwtSvids { get; init; } = [];

    public string? JwtBundleFileName { get; init; }

    public UnixFileMode CertFileMode { get; init; } = (UnixFileMode)Convert.ToInt32("644", 8);

    public UnixFileMode KeyFileMode { get; init; } = (UnixFileMode)Convert.ToInt32("600", 8);

    public UnixFileMode JwtBundleFileMode { get; init; } = (UnixFileMode)Convert.ToInt32("600", 8);

    public UnixFileMode JwtSvidFileMode { get; init; } = (UnixFileMode)Convert.ToInt32("600", 8);

    public HelperHealthChecks HealthChecks { get; init; } = HelperHealthChecks.Default;

    /// <summary>Whether any X.509 file is configured (spiffe-helper writes them when the three names are set).</summary>
    public bool WritesX509 => SvidFileName is not null || SvidKeyFileName is not null || SvidBundleFileName is not null;

    /// <summary>Reads the configuration from HCL text.</summary>
    /// <param name="text">The HCL.</param>
    /// <param name="daemonMode">The command line's <c>--daemon-mode</c>, which wins over the file's <c>daemon_mode</c> (before the checks that depend on it).</param>
    /// <exception cref="HclException">A syntax error, an unknown key, a repeated key or a value of the wrong kind.</exception>
    public static HelperConfig Parse(string text, bool? daemonMode = null)
    {
        var config = new HelperConfig();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var jwtSvids = new List<HelperJwtSvid>();
        foreach (HclAttribute a in Hcl.Parse(text))
        {
            // jwt_svids may be written as repeated blocks; every other key once.
            if (a.Key != "jwt_svids" || a.Value is not HclObject)
            {
                if (seen.TryGetValue(a.Key, out int first))
                {
                    throw new HclException(a.Line, $"'{a.Key}' is set twice (first on line {first}); keep one");
                }

                seen[a.Key] = a.Line;
            }

            config = a.Key switch
            {
                "agent_address" => config with { AgentAddress = String(a) },
                "cmd" => config with { Cmd = String(a) },
                "cmd_args" => config with { CmdArgs = String(a) },
                "pid_file_name" => config with { PidFileName = String(a) },
                "renew_signal" => config with { RenewSignal = Signal(a) },
                "cert_dir" => config with { CertDir = String(a) },
                "daemon_mode" => config with { DaemonMode = Bool(a) },
                "svid_file_name" => config with { SvidFileName = FileName(a) },
                "svid_key_file_name" => config with { SvidKeyFileName = FileName(a) },
                "svid_bundle_file_name" => config with { SvidBundleFileName = FileName(a) },
                "add_intermediates_to_bundle" => config with { AddIntermediatesToBundle = Bool(a) },
                "include_federated_domains" => config with { IncludeFederatedDomains = Bool(a) },
                "omit_expired" => config with { OmitExpired = Bool(a) },
                "hint" => config with { Hint = String(a) },
                "jwt_svids" => AddJwtSvids(config, a, jwtSvids),
                "jwt_bundle_file_name" => config with { JwtBundleFileName = FileName(a) },
                "cert_file_mode" => config with { CertFileMode = Mode(a) },
                "key_file_mode" => config with { KeyFileMode = Mode(a) },
                "jwt_bundle_file_mode" => config with { JwtBundleFileMode = Mode(a) },
                "jwt_svid_file_mode" => config with { JwtSvidFileMode = Mode(a) },
                "health_checks" => config with { HealthChecks = ReadHealthChecks(a) },
                _ => throw Unknown(a, "agent_address, cmd, cmd_args, pid_file_name, renew_signal, cert_dir, daemon_mode, svid_file_name, svid_key_file_name, svid_bundle_file_name, add_intermediates_to_bundle, include_federated_domains, omit_expired, hint, jwt_svids, jwt_bundle_file_name, cert_file_mode, key_file_mode, jwt_bundle_file_mode, jwt_svid_file_mode, health_checks"),
            };
        }

        if (config.WritesX509 && (config.SvidFileName is null || config.SvidKeyFileName is null || config.SvidBundleFileName is null))
        {
            int line = seen.TryGetValue("svid_file_name", out int l1) ? l1 : seen.TryGetValue("svid_key_file_name", out int l2) ? l2 : seen["svid_bundle_file_name"];
            throw new HclException(line, "svid_file_name, svid_key_file_name and svid_bundle_file_name go together; set all three, or none to write no X.509 files");
        }

        if (!config.WritesX509 && config.JwtSvids.Count == 0 && config.JwtBundleFileName is null)
        {
            throw new HclException(1, "nothing to write: set svid_file_name, svid_key_file_name and svid_bundle_file_name, or jwt_svids, or jwt_bundle_file_name");
        }

        if (config.CmdArgs is not null && config.Cmd is null)
        {
            throw new HclException(seen["cmd_args"], "cmd_args is set but cmd is not; set cmd to the program to start");
        }

        if (daemonMode is { } daemon)
        {
            config = config with { DaemonMode = daemon };
        }

        if ((config.Cmd is not null || config.PidFileName is not null) && config.RenewSignal is null && config.DaemonMode)
        {
            throw new HclException(seen.TryGetValue("cmd", out int l) ? l : seen["pid_file_name"], "renew_signal is missing: the program must be told to reload its certificates, e.g. renew_signal = \"SIGHUP\"");
        }

        return config;
    }

    private static HelperConfig AddJwtSvids(HelperConfig config, HclAttribute a, List<HelperJwtSvid> jwtSvids)
    {
        IEnumerable<HclValue> items = a.Value switch
        {
            HclList list => list.Items,
            HclObject block => [block],
            _ => throw WrongKind(a.Key, a.Value, "a list of blocks, e.g. jwt_svids = [{jwt_audience = \"db\", jwt_svid_file_name = \"jwt.token\"}]"),
        };
        foreach (HclValue item in items)
        {
            if (item is not HclObject entry)
            {
                throw WrongKind("jwt_svids", item, "a block {jwt_audience = \"...\", jwt_svid_file_name = \"...\"}");
            }

            string? audience = null;
            string? fileName = null;
            IReadOnlyList<string> extra = [];
            var keys = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (HclAttribute field in entry.Attributes)
            {
                if (!keys.TryAdd(field.Key, field.Line))
                {
                    throw new HclException(field.Line, $"'{field.Key}' is set twice in this jwt_svids entry (first on line {keys[field.Key]}); keep one");
                }

                switch (field.Key)
                {
                    case "jwt_audience":
                        audience = String(field);
                        break;
                    case "jwt_svid_file_name":
                        fileName = FileName(field);
                        break;
                    case "jwt_extra_audiences":
                        extra = field.Value is HclList list
                            ? [.. list.Items.Select(i => i is HclString { Value.Length: > 0 } s ? s.Value : throw WrongKind("jwt_extra_audiences", i, "a non-empty string"))]
                            : throw WrongKind(field.Key, field.Value, "a list of strings, e.g. [\"aud-2\"]");
                        break;
                    default:
                        throw Unknown(field, "jwt_audience, jwt_extra_audiences, jwt_svid_file_name");
                }
            }

            if (string.IsNullOrEmpty(audience))
            {
                throw new HclException(entry.Line, "this jwt_svids entry has no jwt_audience; add jwt_audience = \"your-audience\"");
            }

            if (fileName is null)
            {
                throw new HclException(entry.Line, "this jwt_svids entry has no jwt_svid_file_name; add jwt_svid_file_name = \"jwt_svid.token\"");
            }

            jwtSvids.Add(new HelperJwtSvid(audience, extra, fileName));
        }

        return config with { JwtSvids = [.. jwtSvids] };
    }

    private static HelperHealthChecks ReadHealthChecks(HclAttribute a)
    {
        if (a.Value is not HclObject block)
        {
            throw WrongKind(a.Key, a.Value, "a block: health_checks { listener_enabled = true }");
        }

        HelperHealthChecks result = HelperHealthChecks.Default;
        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (HclAttribute field in block.Attributes)
        {
            if (!keys.TryAdd(field.Key, field.Line))
            {
                throw new HclException(field.Line, $"'{field.Key}' is set twice in health_checks (first on line {keys[field.Key]}); keep one");
            }

            result = field.Key switch
            {
                "listener_enabled" => result with { ListenerEnabled = Bool(field) },
                "bind_port" => result with { BindPort = Port(field) },
                "liveness_path" => result with { LivenessPath = UrlPath(field) },
                "readiness_path" => result with { ReadinessPath = UrlPath(field) },
                _ => throw Unknown(field, "listener_enabled, bind_port, liveness_path, readiness_path"),
            };
        }

        return result.LivenessPath == result.ReadinessPath
            ? throw new HclException(block.Line, $"liveness_path and readiness_path are both {result.LivenessPath}; give them different paths")
            : result;
    }

    private static string String(HclAttribute a) =>
        a.Value is HclString s ? s.Value : throw WrongKind(a.Key, a.Value, $"a double-quoted string, e.g. {a.Key} = \"...\"");

    private static bool Bool(HclAttribute a) =>
        a.Value is HclBool b ? b.Value : throw WrongKind(a.Key, a.Value, $"true or false (without quotes)");

    /// <summary>A name inside cert_dir: no directory part, so no file lands outside it.</summary>
    private static string FileName(HclAttribute a)
    {
        string name = String(a);
        return name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal)
            ? throw new HclException(a.Line, $"{a.Key} = \"{name}\" is not a file name; give a name without a directory (files go into cert_dir)")
            : name;
    }

    private static string Signal(HclAttribute a)
    {
        string name = String(a);
        return ProcessSignals.TryGetNumber(name, out _)
            ? name
            : throw new HclException(a.Line, $"renew_signal = \"{name}\" is not a signal this tool can send; use one of {string.Join(", ", ProcessSignals.Names)}");
    }

    /// <summary>An octal mode, written as a number (<c>0644</c>, as spiffe-helper's examples do) or a string (<c>"0644"</c>).</summary>
    private static UnixFileMode Mode(HclAttribute a)
    {
        string text = a.Value switch
        {
            HclNumber n => n.Text,
            HclString s => s.Value,
            _ => throw WrongKind(a.Key, a.Value, $"an octal file mode, e.g. {a.Key} = 0640"),
        };
        int mode = text.Length is >= 1 and <= 4 && text.All(c => c is >= '0' and <= '7') ? Convert.ToInt32(text, 8) : -1;
        if (mode is < 0 or > 0x1FF)
        {
            throw new HclException(a.Line, $"{a.Key} = {text} is not a file mode; give 3 or 4 octal digits, e.g. 0644 or 0600");
        }

        return (mode & Convert.ToInt32("400", 8)) == 0
            ? throw new HclException(a.Line, $"{a.Key} = {text} does not let the owner read the file; e.g. 0600 or 0644")
            : (UnixFileMode)mode;
    }

    private static int Port(HclAttribute a) =>
        a.Value is HclNumber n && int.TryParse(n.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535
            ? port
            : throw new HclException(a.Line, $"{a.Key} must be a port number from 1 to 65535, e.g. {a.Key} = 8081");

    private static string UrlPath(HclAttribute a)
    {
        string path = String(a);
        return path.StartsWith('/') && !path.Contains('?', StringComparison.Ordinal)
            ? path
            : throw new HclException(a.Line, $"{a.Key} = \"{path}\" must be a URL path starting with '/', e.g. \"/live\"");
    }

    private static HclException Unknown(HclAttribute a, string known) =>
        new(a.Line, $"unknown key '{a.Key}'; the keys are {known}");

    private static HclException WrongKind(string key, HclValue value, string expected) =>
        new(value.Line, $"{key} is {value.Kind}; expected {expected}");
}

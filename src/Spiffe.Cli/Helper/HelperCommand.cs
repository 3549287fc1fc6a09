using System.CommandLine;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli.Helper;

/// <summary><c>spiffe helper</c>: spiffe-helper's job, configured by its own configuration file, with safer writes.</summary>
internal static class HelperCommand
{
    public static Command Create(CliContext cli)
    {
        var configFile = new Option<string>("--config", "-config")
        {
            Description = "The spiffe-helper configuration file (HCL)",
            DefaultValueFactory = _ => "helper.conf",
        };
        var daemonMode = new Option<bool?>("--daemon-mode", "-daemon-mode")
        {
            Description = "Overrides daemon_mode: false writes everything once and exits (non-zero on any failure), for init containers",
        };
        var pkcs12 = new Option<string?>("--pkcs12")
        {
            Description = "Also write the SVID, its key and intermediates as a PKCS#12 file of this name in cert_dir (mode key_file_mode)",
        };
        var passwordFile = new Option<string?>("--pkcs12-password-file") { Description = "Read the PKCS#12 password from this file (its first line)" };
        var passwordEnv = new Option<string?>("--pkcs12-password-env") { Description = "Read the PKCS#12 password from this environment variable" };
        var command = new Command("helper", "Keep SVIDs and bundles written to disk for a program that cannot use the Workload API, and signal it on rotation (reads spiffe-helper's configuration file)")
        {
            configFile, daemonMode, pkcs12, passwordFile, passwordEnv,
        };
        command.SetAction((parse, ct) => cli.RunAsync(async () =>
        {
            string path = Path.GetFullPath(parse.GetValue(configFile) ?? "helper.conf");
            HelperConfig config = await ReadConfigAsync(path, ct, parse.GetValue(daemonMode)).ConfigureAwait(false);

            HelperPkcs12? p12 = parse.GetValue(pkcs12) is { } name
                ? new HelperPkcs12(PkcsFileName(name), ReadPassword(parse.GetValue(passwordFile), parse.GetValue(passwordEnv), cli.Environment))
                : parse.GetValue(passwordFile) is not null || parse.GetValue(passwordEnv) is not null
                    ? throw new CliException("a PKCS#12 password is given but no --pkcs12 file name; add --pkcs12 svid.p12, or drop the password option")
                    : null;

            string certDir = CertDirectory(config, path);
            string address = config.AgentAddress is { } agent ? AgentAddress(agent) : cli.ResolveAddress(parse).ToString();
            await using WorkloadApiClient client = WorkloadApiClient.Create(new WorkloadApiClientOptions { Address = address });
            var runner = new HelperRunner(config, certDir, client, cli.Output, cli.Error, p12);
            if (config.DaemonMode)
            {
                await runner.RunDaemonAsync(ct).ConfigureAwait(false);
            }
            else
            {
                await runner.RunOnceAsync(ct).ConfigureAwait(false);
                await cli.Output.WriteLineAsync($"helper: wrote every output to {certDir}").ConfigureAwait(false);
            }
        }, ct));
        return command;
    }

    /// <summary>Reads and parses the file; errors read <c>path:line: what is wrong</c>.</summary>
    internal static async Task<HelperConfig> ReadConfigAsync(string path, CancellationToken cancellationToken, bool? daemonMode = null)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException e)
        {
            throw new CliException($"the configuration file {path} does not exist; pass its path with --config", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the configuration file {path}: {e.Message.TrimEnd('.')}", e);
        }

        try
        {
            return HelperConfig.Parse(text, daemonMode);
        }
        catch (HclException e)
        {
            throw new CliException($"{path}:{e.Line}: {e.Message}", e);
        }
    }

    /// <summary>spiffe-helper takes a socket path; a URI (unix://, tcp://) is accepted too.</summary>
    private static string AgentAddress(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new CliException("agent_address is empty; give the agent's socket path, e.g. agent_address = \"/tmp/spire-agent/public/api.sock\"");
        }

        string uri = value.Contains("://", StringComparison.Ordinal) ? value : "unix://" + Path.GetFullPath(value);
        try
        {
            return WorkloadApiAddress.Parse(uri).ToString();
        }
        catch (WorkloadApiException e)
        {
            throw new CliException($"agent_address = \"{value}\": {e.Message}", e);
        }
    }

    /// <summary>cert_dir, relative to the current directory as in spiffe-helper; it must exist.</summary>
    private static string CertDirectory(HelperConfig config, string configPath)
    {
        if (string.IsNullOrWhiteSpace(config.CertDir))
        {
            throw new CliException($"{configPath}: cert_dir is missing; set it to the directory to write into, e.g. cert_dir = \"certs\"");
        }

        string directory = Path.GetFullPath(config.CertDir);
        return Directory.Exists(directory)
            ? directory
            : throw new CliException($"cert_dir {directory} does not exist; create it (spiffe-helper requires it too) or fix cert_dir in {configPath}");
    }

    private static string PkcsFileName(string name) =>
        name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name is "." or ".."
            ? throw new CliException($"--pkcs12 {name} is not a file name; give a name without a directory (it is written into cert_dir), e.g. --pkcs12 svid.p12")
            : name;

    /// <summary>The password comes from a file or the environment, never from the command line (visible in ps).</summary>
    private static string ReadPassword(string? file, string? variable, Func<string, string?> environment)
    {
        if (file is not null && variable is not null)
        {
            throw new CliException("both --pkcs12-password-file and --pkcs12-password-env are given; keep one");
        }

        if (file is not null)
        {
            try
            {
                using var reader = new StreamReader(file);
                return reader.ReadLine() ?? string.Empty;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot read the PKCS#12 password file {Path.GetFullPath(file)}: {(e is FileNotFoundException ? "it does not exist" : e.Message.TrimEnd('.'))}", e);
            }
        }

        if (variable is not null)
        {
            return environment(variable) is { } value
                ? value
                : throw new CliException($"the environment variable {variable} (--pkcs12-password-env) is not set; set it to the PKCS#12 password");
        }

        throw new CliException("--pkcs12 needs a password: give --pkcs12-password-file or --pkcs12-password-env (never on the command line)");
    }
}

using Spiffe.Cli.Helper;

namespace Spiffe.Cli.Tests;

/// <summary>The spiffe-helper configuration subset: the README's examples parse as spiffe-helper reads them; errors name the line.</summary>
public sealed class HelperConfigTests
{
    // spiffe-helper's README "Configuration example" (keys and values as given there).
    internal const string ReadmeExample = """
        agent_address = "/tmp/spire-agent/public/api.sock"
        cmd = "ghostunnel"
        cmd_args = "server --listen localhost:8002 --target localhost:8001 --keystore certs/svid_key.pem --cacert certs/svid_bundle.pem --allow-uri-san spiffe://example.org/Database"
        cert_dir = "certs"
        renew_signal = "SIGUSR1"
        svid_file_name = "svid.pem"
        svid_key_file_name = "svid_key.pem"
        svid_bundle_file_name = "svid_bundle.pem"
        jwt_svids = [{jwt_audience="your-audience",jwt_extra_audiences=["your-extra-audience-1", "your-extra-audience-2"], jwt_svid_file_name="jwt_svid.token"}]
        jwt_bundle_file_name = "bundle.json"
        cert_file_mode = 0444
        key_file_mode = 0444
        jwt_bundle_file_mode = 0444
        jwt_svid_file_mode = 0444
        """;

    [Fact]
    public void Parse_ReadmeExample_ReadsEveryKey()
    {
        HelperConfig config = HelperConfig.Parse(ReadmeExample);

        Assert.Equal("/tmp/spire-agent/public/api.sock", config.AgentAddress);
        Assert.Equal("ghostunnel", config.Cmd);
        Assert.Equal("certs", config.CertDir);
        Assert.Equal("SIGUSR1", config.RenewSignal);
        Assert.Equal(("svid.pem", "svid_key.pem", "svid_bundle.pem"), (config.SvidFileName, config.SvidKeyFileName, config.SvidBundleFileName));
        HelperJwtSvid jwt = Assert.Single(config.JwtSvids);
        Assert.Equal("your-audience", jwt.Audience);
        Assert.Equal(["your-extra-audience-1", "your-extra-audience-2"], jwt.ExtraAudiences);
        Assert.Equal("jwt_svid.token", jwt.FileName);
        Assert.Equal("bundle.json", config.JwtBundleFileName);
        var readOnly = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        Assert.Equal([readOnly, readOnly, readOnly, readOnly], [config.CertFileMode, config.KeyFileMode, config.JwtBundleFileMode, config.JwtSvidFileMode]);
        Assert.True(config.DaemonMode);
        Assert.Equal(HelperHealthChecks.Default, config.HealthChecks);
        Assert.Equal(11, CommandLineWords.Split(config.CmdArgs!).Count);
    }

    [Fact]
    public void Parse_WindowsExampleWithBackslashEscapes_ReadsPath()
    {
        HelperConfig config = HelperConfig.Parse("""
            agent_address = "spire-agent\\public\\api"
            cert_dir = "certs"
            svid_file_name = "svid.pem"
            svid_key_file_name = "svid_key.pem"
            svid_bundle_file_name = "svid_bundle.pem"
            """);

        Assert.Equal(@"spire-agent\public\api", config.AgentAddress);
    }

    [Fact]
    public void Parse_Defaults_MatchSpiffeHelper()
    {
        HelperConfig config = HelperConfig.Parse("jwt_bundle_file_name = \"b.json\"");

        Assert.True(config.DaemonMode);
        Assert.False(config.AddIntermediatesToBundle);
        Assert.False(config.IncludeFederatedDomains);
        Assert.False(config.OmitExpired);
        Assert.Equal(Convert.ToInt32("644", 8), (int)config.CertFileMode);
        Assert.Equal(Convert.ToInt32("600", 8), (int)config.KeyFileMode);
        Assert.Equal(Convert.ToInt32("600", 8), (int)config.JwtBundleFileMode);
        Assert.Equal(Convert.ToInt32("600", 8), (int)config.JwtSvidFileMode);
        Assert.Equal(new HelperHealthChecks(false, 8081, "/live", "/ready"), config.HealthChecks);
    }

    [Fact]
    public void Parse_BlocksCommentsAndAllKeys_ReadsThem()
    {
        HelperConfig config = HelperConfig.Parse("""
            # a comment
            agent_address = "unix:///run/agent.sock" // another
            /* a block
               comment */
            pid_file_name = "/run/app.pid"
            renew_signal = "SIGHUP"
            cert_dir = "/certs"
            daemon_mode = false
            svid_file_name = "a.pem"
            svid_key_file_name = "a.key"
            svid_bundle_file_name = "ca.pem"
            add_intermediates_to_bundle = true
            include_federated_domains = true
            omit_expired = true
            hint = "internal"
            jwt_svids {
              jwt_audience = "vault"
              jwt_svid_file_name = "vault.token"
            }
            jwt_svids {
              jwt_audience = "aws"
              jwt_svid_file_name = "aws.token"
            }
            cert_file_mode = "0640"
            health_checks {
              listener_enabled = true
              bind_port = 9000
              liveness_path = "/healthz"
              readiness_path = "/readyz"
            }
            """);

        Assert.Equal("/run/app.pid", config.PidFileName);
        Assert.False(config.DaemonMode);
        Assert.True(config.AddIntermediatesToBundle && config.IncludeFederatedDomains && config.OmitExpired);
        Assert.Equal("internal", config.Hint);
        Assert.Equal(["vault", "aws"], config.JwtSvids.Select(j => j.Audience));
        Assert.Equal(Convert.ToInt32("640", 8), (int)config.CertFileMode);
        Assert.Equal(new HelperHealthChecks(true, 9000, "/healthz", "/readyz"), config.HealthChecks);
    }

    public static TheoryData<string, int, string> Errors => new()
    {
        { "cert_dir = \"c\"\nsvid_filename = \"x\"\n", 2, "unknown key 'svid_filename'" },
        { "jwt_bundle_file_name = \"b\"\nhealth_checks {\n  listener_enabled = true\n  port = 1\n}\n", 4, "unknown key 'port'" },
        { "jwt_svids = [{jwt_audience = \"a\",\n jwt_svid_file_name = \"t\",\n audience = \"b\"}]\n", 3, "unknown key 'audience'" },
        { "cert_dir = \"c\"\ncert_dir = \"d\"\n", 2, "'cert_dir' is set twice (first on line 1)" },
        { "jwt_bundle_file_name = \"b\"\ndaemon_mode = \"false\"\n", 2, "daemon_mode is a string; expected true or false" },
        { "jwt_bundle_file_name = \"b\"\ncert_file_mode = 0855\n", 2, "not a file mode" },
        { "jwt_bundle_file_name = \"b\"\nkey_file_mode = 0044\n", 2, "does not let the owner read" },
        { "jwt_bundle_file_name = \"b\"\nrenew_signal = \"SIGFOO\"\n", 2, "not a signal" },
        { "\n\ncert_dir = \"c\n", 3, "a string is not closed" },
        { "jwt_bundle_file_name = \"b\"\nhealth_checks {\n bind_port = 1\n", 4, "a '}' is missing" },
        { "jwt_bundle_file_name = \"../b\"\n", 1, "is not a file name" },
        { "jwt_svids = [{jwt_svid_file_name = \"t\"}]\n", 1, "no jwt_audience" },
        { "svid_file_name = \"s\"\n", 1, "go together" },
        { "cert_dir = \"c\"\n", 1, "nothing to write" },
        { "jwt_bundle_file_name = \"b\"\ncmd = \"app\"\n", 2, "renew_signal is missing" },
        { "jwt_bundle_file_name = \"b\"\nhint = <<EOF\nx\nEOF\n", 2, "heredoc" },
        { "jwt_bundle_file_name = \"b\"\nhint = \"${env}\"\n", 2, "interpolation" },
        { "jwt_bundle_file_name = \"b\"\ndaemon_mode = yes\n", 2, "'yes' is not a value" },
        { "jwt_bundle_file_name = \"b\"\nhealth_checks {\n bind_port = 70000\n}\n", 3, "port number from 1 to 65535" },
        { "jwt_bundle_file_name = \"b\" cert_dir = \"c\"\n", 1, "one attribute per line" },
        { "jwt_bundle_file_name = \"b\"\nhealth_checks \"x\" {\n}\n", 2, "block labels" },
    };

    // The command line's --daemon-mode decides whether a renew_signal is needed, not the file's daemon_mode.
    [Theory]
    [InlineData("daemon_mode = true", false, false)]   // one-shot from the command line: no program to signal
    [InlineData("daemon_mode = false", true, true)]    // a daemon from the command line: cmd must be told to reload
    [InlineData("daemon_mode = false", null, false)]
    [InlineData("daemon_mode = true", null, true)]
    public void Parse_CommandLineDaemonMode_DecidesWhetherRenewSignalIsRequired(string fileDaemonMode, bool? commandLine, bool required)
    {
        string text = $"jwt_bundle_file_name = \"b\"\ncmd = \"app\"\n{fileDaemonMode}\n";

        if (required)
        {
            HclException e = Assert.Throws<HclException>(() => HelperConfig.Parse(text, commandLine));
            Assert.Contains("renew_signal is missing", e.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(commandLine ?? false, HelperConfig.Parse(text, commandLine).DaemonMode);
        }
    }

    [Theory]
    [MemberData(nameof(Errors))]
    public void Parse_InvalidConfiguration_ThrowsWithLine(string text, int line, string fragment)
    {
        HclException e = Assert.Throws<HclException>(() => HelperConfig.Parse(text));

        Assert.Equal(line, e.Line);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a b  c", new[] { "a", "b", "c" })]
    [InlineData("--name \"two words\" 'x y'", new[] { "--name", "two words", "x y" })]
    [InlineData("", new string[0])]
    public void Split_CmdArgs_SplitsAtSpacesOutsideQuotes(string text, string[] expected) =>
        Assert.Equal(expected, CommandLineWords.Split(text));

    [Fact]
    public async Task Helper_ConfigWithUnknownKey_FailsWithFileAndLine()
    {
        string directory = Directory.CreateTempSubdirectory("spiffe-helper-conf-").FullName;
        try
        {
            string path = Path.Combine(directory, "helper.conf");
            await File.WriteAllTextAsync(path, "cert_dir = \"c\"\n\nsvid_file = \"x\"\n");

            string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["helper", "-config", path]));

            Assert.Contains($"{path}:3: unknown key 'svid_file'", line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

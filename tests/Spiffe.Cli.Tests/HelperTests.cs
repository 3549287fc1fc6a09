using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Spiffe.Bundles;
using Spiffe.Cli.Helper;
using Spiffe.Jwt;
using Spiffe.Testing;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli.Tests;

/// <summary><c>spiffe helper</c> against the in-process Workload API server, with a real child process and real files.</summary>
public sealed class HelperTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private static readonly TrustDomain s_trustDomain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_id = SpiffeId.Parse("spiffe://example.org/legacy");

    // Counts the reload signals it gets into a file, one line each; SIGTERM ends it.
    private const string ChildScript = """
        out="$1"
        trap 'echo USR1 >> "$out"' USR1
        trap 'echo TERM >> "$out"; exit 0' TERM
        echo "started $$" >> "$out"
        while true; do sleep 1 & wait $!; done
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("spiffe-helper-").FullName;
    private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create(s_trustDomain, new TestCertificateAuthorityOptions { WithIntermediate = true });
    private WorkloadApiServer _server = null!;

    private string CertDirectory => Path.Combine(_directory, "certs");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(CertDirectory);
        _server = await WorkloadApiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Helper_RotationsAgentRestartAndCrash_WritesFilesSignalsAndRestartsCmd()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        string counter = Path.Combine(_directory, "signals.txt");
        string script = Path.Combine(_directory, "child.sh");
        await File.WriteAllTextAsync(script, ChildScript, timeout.Token);
        string serial1 = Issue();
        string config = await WriteConfigAsync($"""
            agent_address = "{_server.SocketPath}"
            cmd = "/bin/sh"
            cmd_args = "{script} {counter}"
            renew_signal = "SIGUSR1"
            cert_dir = "{CertDirectory}"
            svid_file_name = "svid.pem"
            svid_key_file_name = "svid_key.pem"
            svid_bundle_file_name = "svid_bundle.pem"
            cert_file_mode = 0640
            """);
        var output = new LineWriter();
        var error = new LineWriter();
        using var stop = new CancellationTokenSource();
        Task<int> run = SpiffeCli.RunAsync(["helper", "-config", config], output, error, _ => null, stop.Token);
        try
        {
            // First write, then cmd starts (it finds every file in place).
            await output.WaitForLineCountAsync("helper: started /bin/sh", 1, timeout.Token);
            await WaitForFileLinesAsync(counter, l => l.Count(x => x.StartsWith("started", StringComparison.Ordinal)) == 1, timeout.Token);
            AssertFiles(serial1);

            // Rotation: new files, then SIGUSR1 to cmd.
            string serial2 = Issue();
            await WaitForFileLinesAsync(counter, l => l.Count(x => x == "USR1") == 1, timeout.Token);
            AssertFiles(serial2);

            // Agent restart: the helper reconnects and writes what the restarted agent serves.
            await _server.StopAsync(timeout.Token);
            string serial3 = Issue();
            await _server.RestartAsync(timeout.Token);
            await WaitForFileLinesAsync(counter, l => l.Count(x => x == "USR1") == 2, timeout.Token);
            AssertFiles(serial3);

            // cmd crashes: restarted, and the next rotation signals the new process.
            string[] lines = await File.ReadAllLinesAsync(counter, timeout.Token);
            int firstPid = int.Parse(lines.First(l => l.StartsWith("started", StringComparison.Ordinal))["started ".Length..], CultureInfo.InvariantCulture);
            using (Process first = Process.GetProcessById(firstPid))
            {
                first.Kill();
            }

            await output.WaitForLineCountAsync("helper: started /bin/sh", 2, timeout.Token);
            await WaitForFileLinesAsync(counter, l => l.Count(x => x.StartsWith("started", StringComparison.Ordinal)) == 2, timeout.Token);
            Assert.Contains(error.Lines, l => l.Contains("/bin/sh exited with code", StringComparison.Ordinal));
            string serial4 = Issue();
            await WaitForFileLinesAsync(counter, l => l.Count(x => x == "USR1") == 3, timeout.Token);
            AssertFiles(serial4);
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(0, await run.WaitAsync(timeout.Token));
        Assert.Equal("TERM", (await File.ReadAllLinesAsync(counter, timeout.Token))[^1]);
        Assert.Empty(Directory.GetFiles(CertDirectory, "*.tmp"));
    }

    [Fact]
    public async Task Helper_HealthEndpoints_ReadyOnlyAfterEveryOutputAndNotLiveAfterFailedWrite()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        _server.SetNoIdentity();
        string path = await WriteConfigAsync($$"""
            cert_dir = "{{CertDirectory}}"
            svid_file_name = "svid.pem"
            svid_key_file_name = "svid_key.pem"
            svid_bundle_file_name = "svid_bundle.pem"
            health_checks {
              listener_enabled = true
              bind_port = 8081
              liveness_path = "/live"
              readiness_path = "/ready"
            }
            """);
        HelperConfig config = await HelperCommand.ReadConfigAsync(path, timeout.Token);
        await using WorkloadApiClient client = WorkloadApiClient.Create(new WorkloadApiClientOptions { Address = _server.Address });
        var output = new LineWriter();
        var error = new LineWriter();
        var runner = new HelperRunner(config, CertDirectory, client, output, error, pkcs12: null) { HealthPortOverride = 0, HealthAddress = IPAddress.Loopback };
        using var stop = new CancellationTokenSource();
        Task run = runner.RunDaemonAsync(stop.Token);
        try
        {
            await output.WaitForLineAsync("helper: health checks on port", timeout.Token);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{runner.HealthPort}") };
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/ready", timeout.Token)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/live", timeout.Token)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/other", timeout.Token)).StatusCode);

            Issue();
            await output.WaitForLineAsync("helper: ready", timeout.Token);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/ready", timeout.Token)).StatusCode);

            // A directory where the key goes: the rename fails, the other files are left alone.
            string key = Path.Combine(CertDirectory, "svid_key.pem");
            string certificateBefore = await File.ReadAllTextAsync(Path.Combine(CertDirectory, "svid.pem"), timeout.Token);
            File.Delete(key);
            Directory.CreateDirectory(key);
            Issue();
            await error.WaitForLineAsync("spiffe: helper: cannot write into", timeout.Token);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/live", timeout.Token)).StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/ready", timeout.Token)).StatusCode);
            Assert.Equal(certificateBefore, await File.ReadAllTextAsync(Path.Combine(CertDirectory, "svid.pem"), timeout.Token));

            Directory.Delete(key);
            string serial = Issue();
            await output.WaitForLineCountAsync("helper: wrote", 2, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/live", timeout.Token)).StatusCode);
            AssertFiles(serial, certificateMode: "644");
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(timeout.Token);
        }
    }

    [Fact]
    public async Task Helper_OneShotWithJwtAndPkcs12_WritesEverythingAndExitsZero()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        using var jwtAuthority = new TestJwtAuthority(s_trustDomain);
        jwtAuthority.AddKey("ES256");
        _server.SetJwtBundles(new Dictionary<string, byte[]> { ["spiffe://example.org"] = jwtAuthority.CreateJwks() });
        _server.SetJwtSvidMinter(request => [new WorkloadApiJwtSvid(s_id.ToString(), jwtAuthority.MintJwtSvid(s_id, request.Audiences, TimeSpan.FromMinutes(5)))]);
        string serial = Issue();
        string config = await WriteConfigAsync($$"""
            agent_address = "{{_server.SocketPath}}"
            cert_dir = "{{CertDirectory}}"
            daemon_mode = false
            svid_file_name = "svid.pem"
            svid_key_file_name = "svid_key.pem"
            svid_bundle_file_name = "svid_bundle.pem"
            add_intermediates_to_bundle = true
            jwt_svids = [{jwt_audience="your-audience",jwt_extra_audiences=["your-extra-audience-1"], jwt_svid_file_name="jwt_svid.token"}]
            jwt_bundle_file_name = "bundle.json"
            """);

        (int exit, string stdout, string stderr) = await CliRun.RunAsync(
            ["helper", "--config", config, "--pkcs12", "svid.p12", "--pkcs12-password-env", "P12_PASSWORD"],
            name => name == "P12_PASSWORD" ? "s3cret" : null);

        Assert.True(exit == 0, stderr);
        Assert.Contains("helper: wrote every output", stdout, StringComparison.Ordinal);
        JwtBundle bundle = JwtBundle.Parse(s_trustDomain, Convert.FromBase64String(JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(CertDirectory, "bundle.json"), timeout.Token)).RootElement.GetProperty("example.org").GetString()!));
        JwtSvid svid = JwtSvid.ParseAndValidate((await File.ReadAllTextAsync(Path.Combine(CertDirectory, "jwt_svid.token"), timeout.Token)).Trim(), bundle, ["your-extra-audience-1"]);
        Assert.Equal(s_id, svid.Id);
        Assert.Equal(["your-audience", "your-extra-audience-1"], svid.Audience);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(CertDirectory, "jwt_svid.token")));

        // add_intermediates_to_bundle: the leaf alone in svid.pem, the intermediate with the root in the bundle.
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(Path.Combine(CertDirectory, "svid.pem"));
        Assert.Equal(serial, Assert.Single(chain).SerialNumber);
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(Path.Combine(CertDirectory, "svid_bundle.pem"));
        Assert.Equal(2, authorities.Count);

        X509Certificate2Collection p12 = X509CertificateLoader.LoadPkcs12Collection(await File.ReadAllBytesAsync(Path.Combine(CertDirectory, "svid.p12"), timeout.Token), "s3cret");
        Assert.Contains(p12, c => c.HasPrivateKey && c.SerialNumber == serial);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(CertDirectory, "svid.p12")));
    }

    [Fact]
    public async Task Helper_OneShotWithoutAgent_FailsWithOneLine()
    {
        string config = await WriteConfigAsync($"""
            agent_address = "{Path.Combine(_directory, "none.sock")}"
            cert_dir = "{CertDirectory}"
            daemon_mode = true
            svid_file_name = "svid.pem"
            svid_key_file_name = "svid_key.pem"
            svid_bundle_file_name = "svid_bundle.pem"
            """);

        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["helper", "--config", config, "--daemon-mode", "false"]));

        Assert.Contains("cannot connect to the Workload API", line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(CertDirectory));
    }

    [Fact]
    public async Task Helper_Pkcs12WithoutPassword_FailsWithOneLine()
    {
        string config = await WriteConfigAsync($"""
            cert_dir = "{CertDirectory}"
            svid_file_name = "svid.pem"
            svid_key_file_name = "svid_key.pem"
            svid_bundle_file_name = "svid_bundle.pem"
            """);

        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["helper", "--config", config, "--pkcs12", "svid.p12"]));

        Assert.Contains("--pkcs12-password-file or --pkcs12-password-env", line, StringComparison.Ordinal);
    }

    private string Issue()
    {
        TestX509SvidMaterial material = _ca.CreateX509SvidMaterial(s_id);
        _server.SetX509Svids([new WorkloadApiX509Svid(s_id.ToString(), material.ChainDer, material.PrivateKeyPkcs8, _ca.RootCertificate.RawData)]);
        return material.LoadCertificates()[0].SerialNumber;
    }

    private async Task<string> WriteConfigAsync(string text)
    {
        string path = Path.Combine(_directory, "helper.conf");
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    /// <summary>The key matches the leaf, the leaf is the expected one followed by its intermediate, the modes are as configured.</summary>
    private void AssertFiles(string serial, string certificateMode = "640")
    {
        string certificate = Path.Combine(CertDirectory, "svid.pem");
        string key = Path.Combine(CertDirectory, "svid_key.pem");
        using X509Certificate2 withKey = X509Certificate2.CreateFromPemFile(certificate, key);
        Assert.Equal(serial, withKey.SerialNumber);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(certificate);
        Assert.Equal(2, chain.Count);
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(Path.Combine(CertDirectory, "svid_bundle.pem"));
        Assert.Equal(_ca.RootCertificate.Thumbprint, Assert.Single(bundle).Thumbprint);
        Assert.Equal((UnixFileMode)Convert.ToInt32(certificateMode, 8), File.GetUnixFileMode(certificate));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }

    /// <summary>Waits (bounded by the token) until the child's counter file satisfies <paramref name="done"/>.</summary>
    private static async Task WaitForFileLinesAsync(string path, Func<string[], bool> done, CancellationToken cancellationToken)
    {
        while (true)
        {
            string[] lines = File.Exists(path) ? await File.ReadAllLinesAsync(path, cancellationToken) : [];
            if (done(lines))
            {
                return;
            }

            // The child is a shell script: it has no event to offer; poll its file.
            await Task.Delay(20, cancellationToken);
        }
    }
}

using System.Text.Json;

namespace Spiffe.Cli.Tests;

/// <summary>Every command of the spiffe tool, run in-process against the tool's own dev-agent on a real Unix socket.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("spiffe-cli-").FullName;
    private readonly CancellationTokenSource _stopAgent = new();
    private readonly LineWriter _agentOutput = new();
    private Task<int>? _agent;

    private string Socket => "unix://" + Path.Combine(_directory, "agent.sock");

    public async Task InitializeAsync()
    {
        _agent = SpiffeCli.RunAsync(
            ["dev-agent", "--socket", Socket, "--trust-domain", "example.org", "--id", "spiffe://example.org/web", "--id", "spiffe://example.org/db", "--ttl", "10m"],
            _agentOutput,
            _agentOutput,
            _stopAgent.Token);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _agentOutput.WaitForLineAsync("dev-agent ready", timeout.Token);
    }

    public async Task DisposeAsync()
    {
        await _stopAgent.CancelAsync();
        Assert.Equal(0, await _agent!);
        Assert.Contains(_agentOutput.Lines, l => l == "dev-agent stopped.");
        Directory.Delete(_directory, recursive: true);
        _stopAgent.Dispose();
    }

    private async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await SpiffeCli.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task X509Fetch_PrintsDefaultSvidAndBundle()
    {
        (int exit, string output, string error) = await RunAsync("x509", "fetch", "--socket", Socket);

        Assert.True(exit == 0, error);
        Assert.Contains("SPIFFE ID:      spiffe://example.org/web", output, StringComparison.Ordinal);
        Assert.Contains("SPIFFE ID:      spiffe://example.org/db", output, StringComparison.Ordinal);
        Assert.Contains("Intermediates:  1", output, StringComparison.Ordinal);
        Assert.Contains("Trust bundles:  example.org (1 CA)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task X509Fetch_Json_IsMachineReadable()
    {
        (int exit, string output, _) = await RunAsync("x509", "fetch", "--socket", Socket, "--json");

        Assert.Equal(0, exit);
        using JsonDocument document = JsonDocument.Parse(output);
        Assert.Equal("spiffe://example.org/web", document.RootElement.GetProperty("svids")[0].GetProperty("spiffe_id").GetString());
        Assert.Equal("example.org", document.RootElement.GetProperty("bundles")[0].GetProperty("trust_domain").GetString());
    }

    [Fact]
    public async Task X509Fetch_Write_WritesPemFilesWithPrivateKeyMode0600()
    {
        string target = Path.Combine(_directory, "out");

        (int exit, _, string error) = await RunAsync("x509", "fetch", "--socket", Socket, "--write", target);

        Assert.True(exit == 0, error);
        string certificates = await File.ReadAllTextAsync(Path.Combine(target, "svid.pem"));
        string key = await File.ReadAllTextAsync(Path.Combine(target, "svid_key.pem"));
        Assert.Equal(2, certificates.Split("BEGIN CERTIFICATE").Length - 1);
        Assert.Contains("BEGIN PRIVATE KEY", key, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(target, "svid_key.pem")));
        Assert.True(File.Exists(Path.Combine(target, "bundle.pem")));
        Assert.Empty(Directory.GetFiles(target, "*.tmp"));

        // Loading what was written gives back a valid SVID.
        using var svid = X509.X509Svid.FromPem(certificates, key);
        Assert.Equal("spiffe://example.org/web", svid.Id.ToString());
    }

    [Fact]
    public async Task X509Fetch_Json_DoesNotEscapePlus()
    {
        (int exit, string output, string error) = await RunAsync("x509", "fetch", "--socket", Socket, "--json");

        Assert.True(exit == 0, error);
        Assert.DoesNotContain("\\u002B", output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("+00:00\"", output, StringComparison.Ordinal); // not_after, e.g. "2026-12-04T18:00:00.0000000+00:00"
        using JsonDocument document = JsonDocument.Parse(output);
        Assert.EndsWith("+00:00", document.RootElement.GetProperty("svids")[0].GetProperty("not_after").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task X509Fetch_SpiffeId_PrintsAndWritesThatSvid()
    {
        string target = Path.Combine(_directory, "db");

        (int exit, string output, string error) = await RunAsync("x509", "fetch", "--socket", Socket, "--spiffe-id", "spiffe://example.org/db", "--write", target);

        Assert.True(exit == 0, error);
        Assert.Contains("SPIFFE ID:      spiffe://example.org/db", output, StringComparison.Ordinal);
        Assert.DoesNotContain("spiffe://example.org/web", output, StringComparison.Ordinal);
        string certificates = await File.ReadAllTextAsync(Path.Combine(target, "svid.pem"));
        string key = await File.ReadAllTextAsync(Path.Combine(target, "svid_key.pem"));
        using var svid = X509.X509Svid.FromPem(certificates, key);
        Assert.Equal("spiffe://example.org/db", svid.Id.ToString());
    }

    [Fact]
    public async Task X509Fetch_SpiffeIdNotIssued_ListsTheIdsThereAre()
    {
        (int exit, string output, string error) = await RunAsync("x509", "fetch", "--socket", Socket, "--spiffe-id", "spiffe://example.org/nope", "--write", Path.Combine(_directory, "nope"));

        string line = CliRun.AssertOneLineFailure((exit, output, error));
        Assert.Equal($"spiffe: the Workload API at {Socket} gave no X509-SVID for spiffe://example.org/nope; it has spiffe://example.org/web, spiffe://example.org/db.", line);
        Assert.Empty(output);
        Assert.Empty(Directory.GetFiles(Path.Combine(_directory, "nope")));
    }

    [Fact]
    public async Task X509Fetch_WriteOverExistingFiles_ReplacesThemAndKeepsTheKeyPrivate()
    {
        // A re-run refreshes the files; even a key file someone widened comes back 0600 (it is a new file renamed over the old).
        string target = Path.Combine(_directory, "refresh");
        Directory.CreateDirectory(target);
        await File.WriteAllTextAsync(Path.Combine(target, "svid.pem"), "old");
        await File.WriteAllTextAsync(Path.Combine(target, "svid_key.pem"), "old");
        File.SetUnixFileMode(Path.Combine(target, "svid_key.pem"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        (int exit, string output, string error) = await RunAsync("x509", "fetch", "--socket", Socket, "--write", target);

        Assert.True(exit == 0, error);
        Assert.Contains($"Wrote svid.pem, svid_key.pem, bundle.pem to {target}", output, StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", await File.ReadAllTextAsync(Path.Combine(target, "svid.pem")), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(Path.Combine(target, "svid_key.pem")), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(target, "svid_key.pem")));
        Assert.Empty(Directory.GetFiles(target, "*.tmp"));
    }

    [Fact]
    public async Task X509Watch_PrintsTheTimeOfEachUpdate()
    {
        DateTimeOffset before = DateTimeOffset.UtcNow.AddSeconds(-1);

        (int exit, string output, string error) = await RunAsync("x509", "watch", "--socket", Socket, "--count", "1");

        Assert.True(exit == 0, error);
        string first = output.Split('\n')[0];
        Assert.StartsWith("Update at ", first, StringComparison.Ordinal);
        DateTimeOffset at = DateTimeOffset.ParseExact(first["Update at ".Length..].TrimEnd('\r'), "u", System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(at, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task X509Watch_Json_CarriesReceivedAt()
    {
        (int exit, string output, string error) = await RunAsync("x509", "watch", "--socket", Socket, "--count", "1", "--json");

        Assert.True(exit == 0, error);
        using JsonDocument document = JsonDocument.Parse(output);
        Assert.True(DateTimeOffset.TryParse(document.RootElement.GetProperty("received_at").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task DevAgent_SecondOnSocketInUse_RefusesAndTheFirstKeepsServing()
    {
        (int exit, string output, string error) = await RunAsync("dev-agent", "--socket", Socket, "--trust-domain", "example.org", "--id", "spiffe://example.org/web");

        string line = CliRun.AssertOneLineFailure((exit, output, error));
        Assert.Equal($"spiffe: another process is already listening on {Path.Combine(_directory, "agent.sock")} (a second dev-agent?); stop it, or choose another --socket path", line);
        Assert.Equal(0, (await RunAsync("x509", "fetch", "--socket", Socket)).Exit);
    }

    [Fact]
    public async Task JwtFetch_SpiffeIdNotIssued_IsPermissionDenied()
    {
        (int exit, string output, string error) = await RunAsync("jwt", "fetch", "--socket", Socket, "--audience", "backend", "--spiffe-id", "spiffe://example.org/nope");

        string line = CliRun.AssertOneLineFailure((exit, output, error));
        Assert.Equal($"spiffe: FetchJWTSVID: the Workload API at {Socket} answered PermissionDenied: no identity issued for spiffe://example.org/nope.", line);
    }

    [Fact]
    public async Task X509Watch_PrintsUpdatesUntilCount()
    {
        (int exit, string output, _) = await RunAsync("x509", "watch", "--socket", Socket, "--count", "1");

        Assert.Equal(0, exit);
        Assert.Contains("SPIFFE ID:      spiffe://example.org/web", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JwtFetchThenValidate_RoundTrips()
    {
        (int fetchExit, string fetched, string fetchError) = await RunAsync(
            "jwt", "fetch", "--socket", Socket, "--audience", "backend", "--audience", "audit", "--spiffe-id", "spiffe://example.org/db", "--json");
        Assert.True(fetchExit == 0, fetchError);
        using JsonDocument document = JsonDocument.Parse(fetched);
        JsonElement svid = Assert.Single(document.RootElement.GetProperty("svids").EnumerateArray());
        Assert.Equal("spiffe://example.org/db", svid.GetProperty("spiffe_id").GetString());
        string token = svid.GetProperty("token").GetString()!;

        (int exit, string output, string error) = await RunAsync("jwt", "validate", "--socket", Socket, "--audience", "audit", "--token", token);

        Assert.True(exit == 0, error);
        Assert.StartsWith("Valid JWT-SVID for spiffe://example.org/db", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JwtValidate_WrongAudience_FailsWithOneLineReason()
    {
        (_, string fetched, _) = await RunAsync("jwt", "fetch", "--socket", Socket, "--audience", "backend", "--json");
        using JsonDocument document = JsonDocument.Parse(fetched);
        string token = document.RootElement.GetProperty("svids")[0].GetProperty("token").GetString()!;

        (int exit, string output, string error) = await RunAsync("jwt", "validate", "--socket", Socket, "--audience", "other", "--token", token);

        Assert.Equal(1, exit);
        Assert.Empty(output);
        Assert.StartsWith("spiffe: ", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains("InvalidArgument", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JwtFetch_WithoutAudience_IsAUsageError()
    {
        (int exit, _, string error) = await RunAsync("jwt", "fetch", "--socket", Socket);

        Assert.NotEqual(0, exit);
        Assert.Contains("--audience", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BundleShow_ListsX509AndJwtBundles()
    {
        (int exit, string output, string error) = await RunAsync("bundle", "show", "--socket", Socket);

        Assert.True(exit == 0, error);
        Assert.Contains("X.509 bundle example.org: 1 CA certificate(s)", output, StringComparison.Ordinal);
        Assert.Contains("JWT bundle example.org: keys dev-agent-1 (EC)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_NoAgent_FailsWithRootCause()
    {
        string missing = "unix://" + Path.Combine(_directory, "nobody.sock");

        (int exit, _, string error) = await RunAsync("x509", "fetch", "--socket", missing);

        Assert.Equal(1, exit);
        Assert.StartsWith($"spiffe: FetchX509SVID: cannot connect to the Workload API at {missing}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidSocket_IsAConfigurationError()
    {
        (int exit, _, string error) = await RunAsync("x509", "fetch", "--socket", "unix://host/agent.sock");

        Assert.Equal(1, exit);
        Assert.Contains("must not have an authority", error, StringComparison.Ordinal);
    }
}

/// <summary>A writer that remembers lines and lets a test await one, instead of sleeping.</summary>
internal sealed class LineWriter : TextWriter
{
    private readonly object _gate = new();
    private readonly List<string> _lines = [];
    private readonly System.Text.StringBuilder _current = new();
    private readonly List<(string Prefix, TaskCompletionSource Signal)> _waiters = [];

    public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public override void Write(char value)
    {
        lock (_gate)
        {
            if (value == '\n')
            {
                string line = _current.ToString().TrimEnd('\r');
                _current.Clear();
                _lines.Add(line);
                foreach ((string prefix, TaskCompletionSource signal) in _waiters)
                {
                    if (line.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        signal.TrySetResult();
                    }
                }
            }
            else
            {
                _current.Append(value);
            }
        }
    }

    /// <summary>Completes once <paramref name="count"/> lines starting with <paramref name="prefix"/> were written.</summary>
    public async Task WaitForLineCountAsync(string prefix, int count, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource signal;
            lock (_gate)
            {
                if (_lines.Count(l => l.StartsWith(prefix, StringComparison.Ordinal)) >= count)
                {
                    return;
                }

                signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((prefix, signal));
            }

            await signal.Task.WaitAsync(cancellationToken);
        }
    }

    public Task WaitForLineAsync(string prefix, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal)))
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((prefix, signal));
            return signal.Task.WaitAsync(cancellationToken);
        }
    }
}

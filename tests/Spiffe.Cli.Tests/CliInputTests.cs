using System.Net.Sockets;

namespace Spiffe.Cli.Tests;

/// <summary>
/// What a new user types wrong, and what the tool answers: one line saying what went wrong and what to do,
/// exit code 1 (2 for a command line that does not parse), never a stack trace or .NET's own wording.
/// </summary>
public sealed class CliInputTests : IDisposable
{
    private const string Td = "--trust-domain";
    private readonly string _directory = Directory.CreateTempSubdirectory("spiffe-cli-input-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string SocketPath => Path.Combine(_directory, "agent.sock");

    private string Socket => "unix://" + SocketPath;

    private string[] DevAgent(params string[] extra) =>
        ["dev-agent", "--socket", Socket, Td, "example.org", "--id", "spiffe://example.org/web", .. extra];

    [Fact]
    public async Task DevAgent_SocketDirectoryMissing_SaysCreateItOrChooseAnother()
    {
        string missing = Path.Combine(_directory, "missing", "dir");

        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["dev-agent", "--socket", $"unix://{missing}/agent.sock", Td, "example.org", "--id", "spiffe://example.org/web"]));

        Assert.Equal($"spiffe: the directory {missing} does not exist; create it or choose another --socket path", line);
    }

    [Fact]
    public async Task DevAgent_TtlOverflowingADouble_IsOutOfRange()
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(DevAgent("--ttl", "1e400s")));

        Assert.Equal("spiffe: --ttl 1e400s is out of range; it must be between 2s and 365d.", line);
        Assert.False(File.Exists(SocketPath));
    }

    [Fact]
    public async Task DevAgent_TtlBeyondAnyCertificateDate_IsOutOfRange()
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(DevAgent("--ttl", "99999999h")));

        Assert.Equal("spiffe: --ttl 99999999h is out of range; it must be between 2s and 365d.", line);
    }

    [Theory]
    [InlineData("0", "is out of range; it must be between 2s and 365d")]
    [InlineData("-5s", "is out of range; it must be between 2s and 365d")]
    [InlineData("1s", "is out of range; it must be between 2s and 365d")]
    [InlineData("366d", "is out of range; it must be between 2s and 365d")]
    [InlineData("5x", "unknown unit 'x'; use s, m, h or d")]
    [InlineData("abc", "is not a duration")]
    [InlineData("NaNs", "is not a duration")]
    [InlineData(" ", "is empty; give a duration")]
    public async Task DevAgent_TtlNotUsable_NamesTheAcceptedForms(string ttl, string expected)
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(DevAgent("--ttl", ttl)));

        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.StartsWith("spiffe: --ttl", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevAgent_IdOutsideTrustDomain_NamesTheTrustDomain()
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["dev-agent", "--socket", Socket, Td, "example.org", "--id", "spiffe://other.org/web"]));

        Assert.Equal("spiffe: --id spiffe://other.org/web is not in the trust domain example.org (--trust-domain); use an ID like spiffe://example.org/web, or change --trust-domain.", line);
    }

    [Theory]
    [InlineData("--id", "spiffe://example.org", "--id spiffe://example.org has no path")]
    [InlineData("--id", "web", "--id: Invalid SPIFFE ID \"web\"")]
    [InlineData("--id", "", "--id: Invalid SPIFFE ID \"\"")]
    [InlineData(Td, "Example.org", "--trust-domain: Invalid trust domain \"Example.org\"")]
    [InlineData(Td, "exa mple.org", "--trust-domain: Invalid trust domain \"exa mple.org\"")]
    [InlineData(Td, "", "--trust-domain: Invalid trust domain \"\"")]
    public async Task DevAgent_MalformedIdOrTrustDomain_NamesTheOptionAndTheRule(string option, string value, string expected)
    {
        string[] args = option == Td
            ? ["dev-agent", "--socket", Socket, Td, value, "--id", "spiffe://example.org/web"]
            : ["dev-agent", "--socket", Socket, Td, "example.org", "--id", value];

        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(args));

        Assert.StartsWith("spiffe: " + expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevAgent_RegularFileAsSocket_RefusesAndLeavesTheFile()
    {
        await File.WriteAllTextAsync(SocketPath, "not a socket");

        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(DevAgent()));

        Assert.Equal($"spiffe: {SocketPath} exists and is not a socket; it was left untouched: choose another --socket path", line);
        Assert.Equal("not a socket", await File.ReadAllTextAsync(SocketPath));
    }

    [Fact]
    public async Task DevAgent_StaleSocketFile_IsReplaced()
    {
        // A socket bound and closed without being removed: what a killed agent leaves behind.
        // .NET removes the file of a socket it bound when that socket is disposed, so bind elsewhere and move it.
        string bound = Path.Combine(_directory, "bound.sock");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(bound));
            File.Move(bound, SocketPath);
        }

        Assert.True(File.Exists(SocketPath));

        await using RunningAgent agent = await RunningAgent.StartAsync(DevAgent());

        Assert.False(agent.Exit.IsCompleted, string.Join('\n', agent.Output.Lines));
        Assert.Contains(agent.Output.Lines, l => l.StartsWith($"dev-agent ready on {Socket} (replaced a socket left by a stopped agent)", StringComparison.Ordinal));
        Assert.Equal(0, (await CliRun.RunAsync(["x509", "fetch", "--socket", Socket])).Exit);
    }

    [Theory]
    [InlineData(null, UnixFileMode.UserRead | UnixFileMode.UserWrite)]
    [InlineData("0660", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite)]
    public async Task DevAgent_SocketFile_IsOwnerOnlyUnlessAsked(string? mode, UnixFileMode expected)
    {
        await using RunningAgent agent = await RunningAgent.StartAsync(mode is null ? DevAgent() : DevAgent("--socket-mode", mode));

        Assert.False(agent.Exit.IsCompleted, string.Join('\n', agent.Output.Lines));
        Assert.Equal(expected, File.GetUnixFileMode(SocketPath));
    }

    [Theory]
    [InlineData("999")]
    [InlineData("rw-")]
    [InlineData("4755")]
    [InlineData("0400")]
    public async Task DevAgent_SocketModeNotUsable_IsRefused(string mode)
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(DevAgent("--socket-mode", mode)));

        Assert.StartsWith($"spiffe: --socket-mode {mode} ", line, StringComparison.Ordinal);
        Assert.False(File.Exists(SocketPath));
    }

    [Fact]
    public async Task DevAgent_NoSocketOption_ListensOnSpiffeEndpointSocket()
    {
        await using RunningAgent agent = await RunningAgent.StartAsync(
            ["dev-agent", Td, "example.org", "--id", "spiffe://example.org/web"],
            name => name == "SPIFFE_ENDPOINT_SOCKET" ? Socket : null);

        Assert.False(agent.Exit.IsCompleted, string.Join('\n', agent.Output.Lines));
        Assert.Contains(agent.Output.Lines, l => l.StartsWith($"dev-agent ready on {Socket}:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DevAgent_NoSocketAnywhere_SaysWhereToSetIt()
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["dev-agent", Td, "example.org", "--id", "spiffe://example.org/web"]));

        Assert.Equal("spiffe: no Workload API address: pass --socket unix:///path/to/agent.sock or set SPIFFE_ENDPOINT_SOCKET.", line);
    }

    [Theory]
    [InlineData("", "spiffe: --socket is empty; give the Workload API address")]
    [InlineData("/tmp/agent.sock", "spiffe: --socket: Invalid Workload API address \"/tmp/agent.sock\": it has no scheme")]
    [InlineData("unix://agent.sock", "spiffe: --socket: Invalid Workload API address \"unix://agent.sock\"")]
    public async Task AnyCommand_SocketNotAnAddress_NamesTheExpectedForm(string socket, string expected)
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["x509", "fetch", "--socket", socket]));

        Assert.StartsWith(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_RegularFileAsSocket_SaysItIsNotASocket()
    {
        await File.WriteAllTextAsync(SocketPath, string.Empty);

        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["x509", "fetch", "--socket", Socket]));

        Assert.Equal($"spiffe: FetchX509SVID: cannot connect to the Workload API at {Socket}: connection refused ({SocketPath} is not a socket; point --socket or SPIFFE_ENDPOINT_SOCKET at the agent's socket)", line);
    }

    [Fact]
    public async Task AnyCommand_ListenerThatIsNoWorkloadApi_SaysSoInsteadOfDotnetWording()
    {
        // Accepts and closes every connection, as a process that is no gRPC server would.
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen();
        using var stop = new CancellationTokenSource();
        Task refusing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Socket accepted;
                try
                {
                    accepted = await listener.AcceptAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                accepted.Dispose();
            }
        });

        (int, string, string) result = await CliRun.RunAsync(["jwt", "fetch", "--socket", Socket, "--audience", "backend"]);
        await stop.CancelAsync();
        await refusing;

        string line = CliRun.AssertOneLineFailure(result);
        Assert.Equal($"spiffe: FetchJWTSVID: {Socket} accepted the connection but did not answer as a gRPC (HTTP/2) server; is it the socket of a SPIFFE Workload API (a SPIRE agent or spiffe dev-agent)?", line);
    }

    [Fact]
    public async Task X509Watch_NoAgent_SaysWhyWhileItRetries()
    {
        var output = new StringWriter();
        var error = new LineWriter();
        using var stop = new CancellationTokenSource();
        Task<int> watch = SpiffeCli.RunAsync(["x509", "watch", "--socket", Socket], output, error, _ => null, stop.Token);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await error.WaitForLineAsync("spiffe: ", timeout.Token);
        await stop.CancelAsync();

        Assert.Equal(0, await watch.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(
            $"spiffe: FetchX509SVID: cannot connect to the Workload API at {Socket}: the socket does not exist (is the agent running, is the path right?); retrying until it answers (Ctrl-C stops).",
            error.Lines[0]);
        Assert.Empty(output.ToString());
    }

    [Fact]
    public async Task DevAgent_SocketPathTooLong_SaysTheLimit()
    {
        string path = Path.Combine(_directory, new string('a', 120) + ".sock");

        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["dev-agent", "--socket", "unix://" + path, Td, "example.org", "--id", "spiffe://example.org/web"]));

        Assert.Equal($"spiffe: --socket: the socket path {path} is {path.Length} bytes long; Unix sockets allow at most 107: choose a shorter path.", line);
    }

    [Fact]
    public async Task DevAgent_SocketIsADirectory_SuggestsAPathInIt()
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["dev-agent", "--socket", "unix://" + _directory, Td, "example.org", "--id", "spiffe://example.org/web"]));

        Assert.Equal($"spiffe: {_directory} is a directory; give the path of the socket to create in it, e.g. --socket unix://{SocketPath}", line);
    }

    [Fact]
    public async Task X509FetchWrite_UnderProc_SaysChooseAnotherDirectory()
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["x509", "fetch", "--socket", Socket, "--write", "/proc/svid"]));

        Assert.Equal("spiffe: cannot create the directory /proc/svid (its parent does not exist or does not allow new entries); choose another --write directory", line);
    }

    [Fact]
    public async Task X509FetchWrite_ExistingFile_SaysGiveADirectory()
    {
        string file = Path.Combine(_directory, "svid.pem");
        await File.WriteAllTextAsync(file, "x");

        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["x509", "fetch", "--socket", Socket, "--write", file]));

        Assert.Equal($"spiffe: --write {file} is a file; give a directory (svid.pem, svid_key.pem and bundle.pem are written into it), e.g. --write {_directory}.", line);
        Assert.Equal("x", await File.ReadAllTextAsync(file));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("abc")]
    public async Task X509Watch_CountBelowOne_IsAUsageError(string count)
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync(["x509", "watch", "--socket", Socket, "--count", count]), expectedExit: 2);

        Assert.Equal($"spiffe: --count {count} is not a number of updates; give 1 or more, or leave it out to watch until interrupted; see 'spiffe x509 watch --help'.", line);
    }

    [Theory]
    [InlineData(new[] { "jwt", "fetch", "--audience", "" }, "spiffe: --audience is empty; give the audience the token is for")]
    [InlineData(new[] { "jwt", "validate", "--audience", "backend", "--token", "" }, "spiffe: --token is empty; give the JWT-SVID to validate")]
    [InlineData(new[] { "jwt", "validate", "--audience", " ", "--token", "a.b.c" }, "spiffe: --audience is empty")]
    [InlineData(new[] { "x509", "fetch", "--write", "" }, "spiffe: --write is empty")]
    [InlineData(new[] { "x509", "fetch", "--spiffe-id", "db" }, "spiffe: --spiffe-id: Invalid SPIFFE ID \"db\"")]
    public async Task AnyCommand_EmptyOrMalformedValue_IsCaughtBeforeCallingTheAgent(string[] args, string expected)
    {
        string line = CliRun.AssertOneLineFailure(await CliRun.RunAsync([.. args, "--socket", Socket]));

        Assert.StartsWith(expected, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "x509", "fetch", "--bogus" }, "spiffe: Unrecognized command or argument '--bogus'; see 'spiffe x509 fetch --help'.")]
    [InlineData(new[] { "x509" }, "spiffe: Required command was not provided; see 'spiffe x509 --help'.")]
    [InlineData(new[] { "jwt", "fetch" }, "spiffe: Option '--audience' is required; see 'spiffe jwt fetch --help'.")]
    public async Task AnyCommand_CommandLineDoesNotParse_OneLineAndExitCode2(string[] args, string expected)
    {
        (int exit, string output, string error) = await CliRun.RunAsync(args);

        string line = CliRun.AssertOneLineFailure((exit, output, error), expectedExit: 2);
        Assert.Equal(expected, line);
        Assert.Empty(output);
    }
}

namespace Spiffe.Samples.Tests;

/// <summary>The Kestrel service and client samples, as processes, against a development agent.</summary>
public sealed class KestrelSampleTests(KestrelSampleService service) : IClassFixture<KestrelSampleService>
{
    private const string Client = "Spiffe.Samples.KestrelClient";

    [Fact]
    public async Task KestrelClient_AuthorizedId_PrintsServiceAnswerNamingItsSpiffeId()
    {
        await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--address", service.Address, "--count", "3", "--interval-ms", "50");

        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 0, client.Output);
        string[] answers = client.Output.Split('\n').Where(l => l.Contains($"hello {SampleService.Frontend} from {SampleService.Backend}", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, answers.Length);
        Assert.Contains("3/3 calls succeeded, 0 failed", client.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KestrelClient_IdTheServiceDoesNotAdmit_IsRefusedAndExitsNonZero()
    {
        await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--address", service.Address, "--id", SampleService.Intruder.ToString(), "--count", "1");

        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 1, client.Output);
        Assert.Contains($"FAILED as {SampleService.Intruder}: The server ", client.Output, StringComparison.Ordinal);
        Assert.Contains($"does not allow this workload's SPIFFE ID {SampleService.Intruder}", client.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hello", client.Output, StringComparison.Ordinal);
        Assert.Contains("0/1 calls succeeded, 1 failed", client.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KestrelClient_ServerIsNotTheExpectedId_RefusesServerAndExitsNonZero()
    {
        await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--address", service.Address, "--server-id", "spiffe://example.org/someone-else", "--count", "1");

        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 1, client.Output);
        Assert.Contains($"FAILED as {SampleService.Frontend}", client.Output, StringComparison.Ordinal);
        Assert.Contains($"the server SPIFFE ID {SampleService.Backend} is not authorized", client.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hello", client.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KestrelClient_AgentRotatesSvids_NextConnectionPresentsNewSerial()
    {
        await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--address", service.Address, "--count", "0", "--interval-ms", "100");
        await client.WaitForLineAsync(l => l.StartsWith("#1 hello", StringComparison.Ordinal), SampleService.Timeout);
        var rotated = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Agent.Rotated += (_, e) => rotated.TrySetResult(e.Svids.Single(s => s.Id == SampleService.Frontend).Serial);

        service.Agent.Rotate();
        string newSerial = await rotated.Task.WaitAsync(SampleService.Timeout);

        // The service reports the serial the client presented on the connection that carried the call.
        string answer = await client.WaitForLineAsync(l => l.Contains($"(your serial {newSerial},", StringComparison.Ordinal), SampleService.Timeout);
        Assert.Contains($"hello {SampleService.Frontend} from {SampleService.Backend}", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KestrelService_IdTheAgentDoesNotIssue_ExitsWithMessageListingIssuedIds()
    {
        await using SampleProcess other = SampleProcess.Start("Spiffe.Samples.KestrelService", service.Agent.Address, "--host", "127.0.0.1", "--port", "0", "--id", "spiffe://example.org/unregistered", "--Spiffe:StartTimeout", "00:00:05"); // any configuration key, the ASP.NET Core way

        int exitCode = await other.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 1, other.Output);
        Assert.Contains("but not spiffe://example.org/unregistered", other.Output, StringComparison.Ordinal);
        Assert.Contains(SampleService.Backend.ToString(), other.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KestrelService_SvidDirectoryFromSpiffeFetchWrite_ServesWithoutTheWorkloadApi()
    {
        string directory = Directory.CreateTempSubdirectory("spiffe-sample-files-").FullName;
        try
        {
            await using (SampleProcess fetch = SampleProcess.Start("SpiffeCli", service.Agent.Address, "x509", "fetch", "--write", directory, "--spiffe-id", SampleService.Backend.ToString()))
            {
                Assert.True(await fetch.WaitForExitAsync(SampleService.Timeout) == 0, fetch.Output);
            }

            // No agent at this address: the SVID, key and bundle come only from the files (Spiffe:Files).
            await using SampleProcess files = SampleProcess.Start(
                "Spiffe.Samples.KestrelService", "unix:///nonexistent/agent.sock", "--host", "127.0.0.1", "--port", "0",
                "--svid-directory", directory, "--Spiffe:Files:Layout", "SpiffeHelper", "--Spiffe:Files:BundleFileName", "bundle.pem");
            string listening = await files.WaitForLineAsync(l => l.StartsWith("listening on https://127.0.0.1:", StringComparison.Ordinal), SampleService.Timeout);
            Assert.Contains($"as {SampleService.Backend} ", listening, StringComparison.Ordinal);
            await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--address", listening.Split(' ')[2], "--count", "1");

            int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

            Assert.True(exitCode == 0, client.Output + files.Output);
            Assert.Contains($"hello {SampleService.Frontend} from {SampleService.Backend}", client.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task KestrelClient_UnknownOption_ExitsWithUsage()
    {
        await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--adress", service.Address);

        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 2, client.Output);
        Assert.Contains("Unknown option(s) --adress", client.Output, StringComparison.Ordinal);
    }
}

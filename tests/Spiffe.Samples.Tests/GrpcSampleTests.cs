namespace Spiffe.Samples.Tests;

/// <summary>The gRPC service and client samples, as processes, against a development agent.</summary>
public sealed class GrpcSampleTests(GrpcSampleService service) : IClassFixture<GrpcSampleService>
{
    private const string Client = "Spiffe.Samples.GrpcClient";

    [Fact]
    public async Task GrpcClient_AuthorizedId_PrintsReplyNamingItsSpiffeId()
    {
        await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--address", service.Address, "--count", "3", "--interval-ms", "50");

        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 0, client.Output);
        string[] replies = client.Output.Split('\n')
            .Where(l => l.Contains($"you are {SampleService.Frontend} (server {SampleService.Backend} serial ", StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(3, replies.Length);
        Assert.Contains("hello call #3, you are", client.Output, StringComparison.Ordinal);
        Assert.Contains("3/3 calls succeeded, 0 failed", client.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcClient_IdTheServiceDoesNotAdmit_IsRefusedAndExitsNonZero()
    {
        await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--address", service.Address, "--id", SampleService.Intruder.ToString(), "--count", "1");

        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 1, client.Output);
        Assert.Contains($"FAILED as {SampleService.Intruder}: Unavailable ", client.Output, StringComparison.Ordinal);
        Assert.Contains($"does not allow this workload's SPIFFE ID {SampleService.Intruder}", client.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("you are", client.Output, StringComparison.Ordinal);
        Assert.Contains("0/1 calls succeeded, 1 failed", client.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcClient_ServerIsNotTheExpectedId_RefusesServerAndExitsNonZero()
    {
        await using SampleProcess client = SampleProcess.Start(Client, service.Agent.Address, "--address", service.Address, "--server-id", "spiffe://example.org/someone-else", "--count", "1");

        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 1, client.Output);
        Assert.Contains($"FAILED as {SampleService.Frontend}", client.Output, StringComparison.Ordinal);
        Assert.Contains($"the server SPIFFE ID {SampleService.Backend} is not authorized", client.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("you are", client.Output, StringComparison.Ordinal);
    }
}

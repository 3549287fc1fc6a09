using System.Security.Cryptography;
using Spiffe.Testing;

namespace Spiffe.Samples.Tests;

/// <summary>
/// The Kestrel pair with SVIDs from files (SAMPLE_SVID_DIRECTORY: tls.crt, tls.key, ca.crt as csi-driver-spiffe
/// writes them, samples/kubernetes/variants) and no Workload API at all.
/// </summary>
public sealed class KestrelFilesSampleTests : IDisposable
{
    private static readonly SpiffeId ServiceId = SpiffeId.Parse("spiffe://example.org/ns/spiffe-samples/sa/kestrel-service");
    private static readonly SpiffeId ClientId = SpiffeId.Parse("spiffe://example.org/ns/spiffe-samples/sa/kestrel-client");
    private readonly TestCertificateAuthority _authority = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
    private readonly List<string> _directories = [];

    [Fact]
    public async Task KestrelPair_SvidsFromCsiDriverSpiffeFiles_ClientCallsServiceWithTheFileIdentities()
    {
        string serviceFiles = WriteSvidFiles(ServiceId);
        string clientFiles = WriteSvidFiles(ClientId);
        await using SampleProcess service = SampleProcess.StartWithEnvironment(
            "Spiffe.Samples.KestrelService", "", new Dictionary<string, string> { ["SAMPLE_SVID_DIRECTORY"] = serviceFiles },
            "--host", "127.0.0.1", "--port", "0", "--id", ServiceId.ToString(), "--client-id", ClientId.ToString());
        string address = (await service.WaitForLineAsync(l => l.StartsWith("listening on https://127.0.0.1:", StringComparison.Ordinal), SampleService.Timeout)).Split(' ')[2];

        await using SampleProcess client = SampleProcess.StartWithEnvironment(
            "Spiffe.Samples.KestrelClient", "", new Dictionary<string, string> { ["SAMPLE_SVID_DIRECTORY"] = clientFiles },
            "--address", address, "--server-id", ServiceId.ToString(), "--count", "2", "--interval-ms", "50");
        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 0, client.Output + "\nservice:\n" + service.Output);
        Assert.Contains($" as {ClientId}; the server must be {ServiceId}", client.Output, StringComparison.Ordinal);
        Assert.Equal(2, client.Output.Split('\n').Count(l => l.Contains($"hello {ClientId} from {ServiceId}", StringComparison.Ordinal)));
        Assert.Contains("2/2 calls succeeded, 0 failed", client.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KestrelClient_FilesOfAnotherId_IsRefusedByTheService()
    {
        string serviceFiles = WriteSvidFiles(ServiceId);
        string intruderFiles = WriteSvidFiles(SampleService.Intruder);
        await using SampleProcess service = SampleProcess.StartWithEnvironment(
            "Spiffe.Samples.KestrelService", "", new Dictionary<string, string> { ["SAMPLE_SVID_DIRECTORY"] = serviceFiles },
            "--host", "127.0.0.1", "--port", "0", "--id", ServiceId.ToString(), "--client-id", ClientId.ToString());
        string address = (await service.WaitForLineAsync(l => l.StartsWith("listening on https://127.0.0.1:", StringComparison.Ordinal), SampleService.Timeout)).Split(' ')[2];

        await using SampleProcess client = SampleProcess.StartWithEnvironment(
            "Spiffe.Samples.KestrelClient", "", new Dictionary<string, string> { ["SAMPLE_SVID_DIRECTORY"] = intruderFiles },
            "--address", address, "--server-id", ServiceId.ToString(), "--count", "1");
        int exitCode = await client.WaitForExitAsync(SampleService.Timeout);

        Assert.True(exitCode == 1, client.Output);
        Assert.Contains($"FAILED as {SampleService.Intruder}", client.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hello", client.Output, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (string directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }

        _authority.Dispose();
    }

    /// <summary>The three files csi-driver-spiffe writes: the chain, the PKCS#8 key, the trust domain's CA.</summary>
    private string WriteSvidFiles(SpiffeId id)
    {
        string directory = Directory.CreateTempSubdirectory("spiffe-sample-files-").FullName;
        _directories.Add(directory);
        TestX509SvidMaterial material = _authority.CreateX509SvidMaterial(id);
        File.WriteAllText(Path.Combine(directory, "tls.crt"), string.Concat(material.CertificatesDer.Select(c => PemEncoding.WriteString("CERTIFICATE", c.Span) + "\n")));
        File.WriteAllText(Path.Combine(directory, "tls.key"), PemEncoding.WriteString("PRIVATE KEY", material.PrivateKeyPkcs8) + "\n");
        File.WriteAllText(Path.Combine(directory, "ca.crt"), PemEncoding.WriteString("CERTIFICATE", _authority.RootCertificate.RawData) + "\n");
        File.SetUnixFileMode(Path.Combine(directory, "tls.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return directory;
    }
}

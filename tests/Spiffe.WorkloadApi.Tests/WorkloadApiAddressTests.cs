using System.Net;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>SPIFFE-RULES.md A6 rules 82-85: the endpoint address, accepted and rejected, before any connection.</summary>
[Collection(SerialTests.Name)]
public sealed class WorkloadApiAddressTests
{
    [Theory]
    [InlineData("unix:///tmp/api.sock", "/tmp/api.sock", "unix:///tmp/api.sock")]
    [InlineData("unix:/tmp/api.sock", "/tmp/api.sock", "unix:///tmp/api.sock")]
    [InlineData("UNIX:///run/spire/agent.sock", "/run/spire/agent.sock", "unix:///run/spire/agent.sock")]
    public void Parse_ValidUnix_GivesAbsolutePath(string input, string path, string normalised)
    {
        WorkloadApiAddress address = WorkloadApiAddress.Parse(input);
        Assert.True(address.IsUnixSocket);
        Assert.Equal(path, address.UnixSocketPath);
        Assert.Equal(normalised, address.ToString());
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:8000", "127.0.0.1", 8000)]
    [InlineData("tcp://[::1]:8000", "::1", 8000)]
    [InlineData("tcp://10.0.0.7:65535", "10.0.0.7", 65535)]
    public void Parse_ValidTcp_GivesEndPoint(string input, string ip, int port)
    {
        WorkloadApiAddress address = WorkloadApiAddress.Parse(input);
        Assert.False(address.IsUnixSocket);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(ip), port), address.TcpEndPoint);
    }

    [Theory]
    [InlineData("unix://localhost/tmp/api.sock", "must not have an authority")]
    [InlineData("unix:tmp/api.sock", "must be absolute")]
    [InlineData("unix://", "socket path is missing")]
    [InlineData("unix:", "socket path is missing")]
    [InlineData("unix:///tmp/a.sock?x=1", "must not have a query")]
    [InlineData("unix:///tmp/a.sock#f", "must not have a fragment")]
    [InlineData("unix:///tmp/", "names a directory")]
    [InlineData("tcp://localhost:8000", "must be an IP address")]
    [InlineData("tcp://127.0.0.1", "port is missing")]
    [InlineData("tcp://127.0.0.1:", "port is missing")]
    [InlineData("tcp://127.0.0.1:8000/foo", "must not have a path")]
    [InlineData("tcp://127.0.0.1:8000?x=1", "must not have a query")]
    [InlineData("tcp://127.0.0.1:8000#f", "must not have a fragment")]
    [InlineData("tcp://u@127.0.0.1:8000", "must not have userinfo")]
    [InlineData("tcp://127.0.0.1:0", "from 1 to 65535")]
    [InlineData("tcp://127.0.0.1:70000", "from 1 to 65535")]
    [InlineData("tcp://127.0.0.1:+80", "from 1 to 65535")]
    [InlineData("tcp://1:8000", "must be an IP address")]
    [InlineData("tcp://::1:8000", "must be in brackets")]
    [InlineData("tcp:127.0.0.1:8000", "must be tcp://IP:port")]
    [InlineData("http://127.0.0.1:1", "scheme 'http' is not supported")]
    [InlineData("npipe:foo", "scheme 'npipe' is not supported")]
    [InlineData("/tmp/api.sock", "has no scheme")]
    [InlineData("", "empty")]
    public void Parse_Invalid_ThrowsConfigurationErrorNamingTheRule(string input, string reason)
    {
        WorkloadApiException e = Assert.Throws<WorkloadApiException>(() => WorkloadApiAddress.Parse(input));
        Assert.Equal(WorkloadApiErrorKind.Configuration, e.Kind);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.False(WorkloadApiAddress.TryParse(input, out _));
    }

    [Fact]
    public void Resolve_ExplicitAddress_WinsOverEnvironment()
    {
        using var env = new EnvironmentScope(WorkloadApiAddress.EnvironmentVariable, "unix:///from/env.sock");
        Assert.Equal("/explicit.sock", WorkloadApiAddress.Resolve("unix:///explicit.sock").UnixSocketPath);
        Assert.Equal("/from/env.sock", WorkloadApiAddress.Resolve(null).UnixSocketPath);
    }

    [Fact]
    public void Resolve_NothingConfigured_SaysHowToSetAnAddress()
    {
        using var env = new EnvironmentScope(WorkloadApiAddress.EnvironmentVariable, null);
        WorkloadApiException e = Assert.Throws<WorkloadApiException>(() => WorkloadApiAddress.Resolve(null));
        Assert.Equal(WorkloadApiErrorKind.Configuration, e.Kind);
        Assert.Contains("set the SPIFFE_ENDPOINT_SOCKET environment variable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_InvalidEnvironment_NamesTheVariable()
    {
        using var env = new EnvironmentScope(WorkloadApiAddress.EnvironmentVariable, "unix://host/x.sock");
        WorkloadApiException e = Assert.Throws<WorkloadApiException>(() => WorkloadApiClient.Create());
        Assert.StartsWith("SPIFFE_ENDPOINT_SOCKET: Invalid Workload API address", e.Message, StringComparison.Ordinal);
    }
}

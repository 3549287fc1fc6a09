using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spiffe.Testing;
using Spiffe.WorkloadApi;

namespace Spiffe.AspNetCore.Tests;

/// <summary><c>Spiffe:X509:Id</c>: which SVID the <c>AddSpiffe()</c> X509Source presents when the agent issues several.</summary>
public sealed class SpiffeX509IdTests
{
    private static void ServeTwo(SpiffeTestHost host)
    {
        TestX509SvidMaterial intruder = host.Ca.CreateX509SvidMaterial(SpiffeTestHost.Intruder);
        TestX509SvidMaterial backend = host.Ca.CreateX509SvidMaterial(SpiffeTestHost.Backend);
        host.Agent.SetX509Svids(
        [
            new WorkloadApiX509Svid(SpiffeTestHost.Intruder.ToString(), intruder.ChainDer, intruder.PrivateKeyPkcs8, host.Ca.RootCertificate.RawData), // the default
            new WorkloadApiX509Svid(SpiffeTestHost.Backend.ToString(), backend.ChainDer, backend.PrivateKeyPkcs8, host.Ca.RootCertificate.RawData),
        ]);
    }

    [Fact]
    public async Task AddSpiffe_X509IdSet_PresentsThatSvidNotTheDefault()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync(serve: false);
        ServeTwo(host);
        WebApplication app = host.Build(host.Configuration(("Spiffe:X509:Id", SpiffeTestHost.Backend.ToString())), listen: null);
        await host.StartAsync(SpiffeTestHost.Timeout());

        Assert.Equal(SpiffeTestHost.Backend, app.Services.GetRequiredService<X509Source>().GetX509Svid().Id);
    }

    [Fact]
    public async Task AddSpiffe_X509IdNotSet_PresentsTheAgentsDefault()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync(serve: false);
        ServeTwo(host);
        WebApplication app = host.Build(host.Configuration(), listen: null);
        await host.StartAsync(SpiffeTestHost.Timeout());

        Assert.Equal(SpiffeTestHost.Intruder, app.Services.GetRequiredService<X509Source>().GetX509Svid().Id);
    }

    [Fact]
    public async Task AddSpiffe_X509IdNotIssued_StartFailsListingIssuedIds()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync(serve: false);
        ServeTwo(host);
        host.Build(host.Configuration(("Spiffe:X509:Id", "spiffe://example.org/unregistered"), ("Spiffe:StartTimeout", "00:00:01")), listen: null);

        WorkloadApiException thrown = await Assert.ThrowsAsync<WorkloadApiException>(() => host.StartAsync(SpiffeTestHost.Timeout()));

        Assert.Contains("but not spiffe://example.org/unregistered (Spiffe:X509:Id)", thrown.Message);
        Assert.Contains(SpiffeTestHost.Backend.ToString(), thrown.Message);
    }

    [Fact]
    public async Task AddSpiffe_X509IdNotASpiffeId_StartFailsNamingTheKey()
    {
        await using SpiffeTestHost host = await SpiffeTestHost.CreateAsync();
        host.Build(host.Configuration(("Spiffe:X509:Id", "https://example.org/backend")), listen: null);

        OptionsValidationException thrown = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(SpiffeTestHost.Timeout()));

        Assert.Contains("Spiffe:X509:Id: 'https://example.org/backend' is not a SPIFFE ID", thrown.Message);
    }
}

using System.Collections.Concurrent;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Core.Tests.Tls;

public sealed class SpiffeTlsRotationTests : IDisposable
{
    private const int Clients = 50;
    private const int Rotations = 10;

    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");

    private readonly ConcurrentBag<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
    }

    [Fact]
    public async Task MutualTls_FiftyConcurrentClientsThroughTenRotationsOfBothSides_NoFailureAndEveryNewSerialPresented()
    {
        using var ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
        var bundles = new MutableBundleSource(Own(ca.CreateX509Bundle()));
        var serverSvids = new MutableSvidSource(Own(ca.CreateX509Svid(s_serverId)));
        var clientSvids = new MutableSvidSource(Own(ca.CreateX509Svid(s_clientId)));
        var server = SpiffeTlsServer.MutualTls(serverSvids, bundles, SpiffeIdAuthorizer.Exact(s_clientId));
        var client = SpiffeTlsClient.MutualTls(clientSvids, bundles, SpiffeIdAuthorizer.Exact(s_serverId));
        var failures = new ConcurrentQueue<string>();
        var serverSerialsSeen = new ConcurrentDictionary<string, bool>();
        var clientSerialsSeen = new ConcurrentDictionary<string, bool>();
        var completed = new SemaphoreSlim(0);
        using var stop = new CancellationTokenSource();

        async Task ClientLoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);
                if (outcome.Succeeded)
                {
                    serverSerialsSeen[outcome.Client.PeerSerial!] = true;
                    clientSerialsSeen[outcome.Server.PeerSerial!] = true;
                }
                else
                {
                    failures.Enqueue($"server: {outcome.Server.Error?.Message}; client: {outcome.Client.Error?.Message}");
                }

                completed.Release();
            }
        }

        // Each phase waits for 2 x Clients completed handshakes: at most one per client began
        // before the rotation, so at least Clients of them ran on the new SVIDs. No sleeps.
        async Task PhaseAsync()
        {
            for (int i = 0; i < 2 * Clients; i++)
            {
                Assert.True(await completed.WaitAsync(TimeSpan.FromSeconds(120)), "Handshakes stopped completing.");
            }
        }

        var expectedServerSerials = new List<string> { serverSvids.Svid!.Certificate.GetSerialNumberString() };
        var expectedClientSerials = new List<string> { clientSvids.Svid!.Certificate.GetSerialNumberString() };
        Task[] loops = [.. Enumerable.Range(0, Clients).Select(_ => Task.Run(ClientLoopAsync))];
        try
        {
            for (int rotation = 0; rotation < Rotations; rotation++)
            {
                await PhaseAsync();
                X509Svid nextServer = Own(ca.CreateX509Svid(s_serverId));
                X509Svid nextClient = Own(ca.CreateX509Svid(s_clientId));
                serverSvids.Svid = nextServer;
                clientSvids.Svid = nextClient;
                expectedServerSerials.Add(nextServer.Certificate.GetSerialNumberString());
                expectedClientSerials.Add(nextClient.Certificate.GetSerialNumberString());
            }

            await PhaseAsync();
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(loops);
        }

        Assert.Empty(failures);
        Assert.Equal(Rotations + 1, expectedServerSerials.Distinct().Count());
        Assert.All(expectedServerSerials, serial => Assert.True(serverSerialsSeen.ContainsKey(serial), $"server serial {serial} never presented"));
        Assert.All(expectedClientSerials, serial => Assert.True(clientSerialsSeen.ContainsKey(serial), $"client serial {serial} never presented"));
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}

using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>
/// Issue 8 point 4: what an X509Source hands out belongs to the source, and a caller cannot break
/// it: disposing a handed-out SVID, context or bundle does nothing, superseded objects stay
/// readable, and a reader always gets the SVID chosen from the context it reads.
/// </summary>
public sealed class X509SourceOwnershipTests
{
    [Fact]
    public async Task DisposingHandedOutObjects_LaterHandshakesStillWork()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        using X509Svid clientSvid = agent.Ca.CreateX509Svid(TestAgent.Db);
        using X509Bundle clientBundle = agent.Ca.CreateX509Bundle();
        var server = SpiffeTlsServer.MutualTls(source, source, SpiffeIdAuthorizer.Exact(TestAgent.Db));
        var client = SpiffeTlsClient.MutualTls(new MutableSvidSource(clientSvid), clientBundle, SpiffeIdAuthorizer.Exact(TestAgent.Web));

        using (source.GetX509Svid())
        {
        }

        source.GetX509Context().Dispose();
        source.GetX509Bundle(TestAgent.Domain)!.Dispose();
        TlsOutcome outcome = await TlsLoopback.ConnectAsync(server, client);

        Assert.True(outcome.Succeeded, outcome.ToString());
        Assert.Equal(TestAgent.Db, outcome.Server.PeerId);
        X509Svid svid = source.GetX509Svid();
        Assert.True(svid.IsOwnedBySource);
        Assert.True(svid.Certificate.HasPrivateKey);
        Assert.NotEmpty(svid.Certificate.RawData);
        Assert.True(source.GetX509Context().IsOwnedBySource);
        Assert.True(source.GetX509Bundle(TestAgent.Domain)!.IsOwnedBySource);
        Assert.NotEmpty(source.GetX509Bundle(TestAgent.Domain)!.X509Authorities[0].RawData);
    }

    [Fact]
    public async Task SupersededObjects_StayReadableAfterManyRotations_CopyIsIndependent()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web));
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        X509Svid held = source.GetX509Svid();
        X509Context heldContext = source.GetX509Context();
        X509Bundle heldBundle = source.GetX509Bundle(TestAgent.Domain)!;
        string serial = held.Certificate.SerialNumber;
        using X509Svid copy = held.Copy();

        for (int i = 0; i < 5; i++)
        {
            Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
            agent.Serve(agent.Svid(TestAgent.Web));
            await next;
        }

        Assert.NotEqual(serial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.Equal(serial, held.Certificate.SerialNumber);
        Assert.True(held.Certificate.HasPrivateKey);
        Assert.Equal(held.Certificate.RawData, heldContext.DefaultSvid.Certificate.RawData);
        Assert.NotEmpty(heldBundle.X509Authorities[0].RawData);
        byte[] key = held.ExportPkcs8PrivateKey();
        Assert.NotEmpty(key);
        Array.Clear(key);

        // The copy is the caller's: disposing it releases it, the source's instance is untouched.
        Assert.False(copy.IsOwnedBySource);
        Assert.Equal(held.Certificate.RawData, copy.Certificate.RawData);
        copy.Dispose();
        Assert.Equal(serial, held.Certificate.SerialNumber);
    }

    [Fact]
    public async Task ConcurrentReaderDuringRotations_AlwaysGetsTheSvidOfTheCurrentSnapshot()
    {
        await using TestAgent agent = await TestAgent.StartAsync();
        agent.Serve(agent.Svid(TestAgent.Web), agent.Svid(TestAgent.Db, hint: "db"));
        await using X509Source source = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = agent.ClientOptions(), Hint = "db" }, TestAgent.Timeout());
        using var stop = new CancellationTokenSource();
        int reads = 0;
        Task reader = Task.Run(() =>
        {
            // Bounded by the rotations below (stop is cancelled after them) and by a read cap.
            while (!stop.IsCancellationRequested && reads < 50_000_000)
            {
                X509Svid svid = source.GetX509Svid();
                Assert.Equal(TestAgent.Db, svid.Id);
                Assert.True(svid.Certificate.HasPrivateKey);
                Assert.NotEmpty(svid.Certificate.RawDataMemory.ToArray());
                reads++;
            }
        });

        for (int i = 0; i < 100; i++)
        {
            Task<X509Context> next = source.WaitForUpdateAsync(TestAgent.Timeout());
            agent.Serve(agent.Svid(TestAgent.Web), agent.Svid(TestAgent.Db, hint: "db"));
            X509Context context = await next;
            Assert.Contains(source.GetX509Svid(), context.Svids.Concat(source.GetX509Context().Svids));
        }

        await stop.CancelAsync();
        await reader.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(reads > 0);
    }

    [Fact]
    public void CallerCreatedSvid_DisposeReleasesIt()
    {
        using TestCertificateAuthority ca = TestCertificateAuthority.Create(TestAgent.Domain);
        X509Svid svid = ca.CreateX509Svid(TestAgent.Web);

        svid.Dispose();

        Assert.False(svid.IsOwnedBySource);
        Assert.Throws<ObjectDisposedException>(() => svid.Copy());
    }
}

using Microsoft.Extensions.Time.Testing;
using System.Net;
using Spiffe.Core.Tests.Tls;
using Spiffe.Tls;

namespace Spiffe.AspNetCore.Tests;

/// <summary>SpiffeHttpHandler against real Kestrel (UseSpiffeMtls) on 127.0.0.1, with the setup of <see cref="KestrelSpiffeTests"/>.</summary>
public sealed partial class KestrelSpiffeTests
{
    private readonly TaskCompletionSource _slowRequestStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _slowRequestRelease = new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task SpiffeHttpHandler_RequestInFlightDuringRotation_FinishesOnOldConnection()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        MutableSvidSource clientSvids = Svid(s_clientId);
        string oldSerial = clientSvids.Svid!.Certificate.GetSerialNumberString();
        var time = new FakeTimeProvider();
        using var handler = new SpiffeHttpHandler(clientSvids, _bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions { DrainPeriod = TimeSpan.FromSeconds(5), TimeProvider = time });
        using var http = new HttpClient(handler, disposeHandler: false) { Timeout = TimeSpan.FromSeconds(30) };

        Task<string> slow = http.GetStringAsync(new Uri(address, "/slow-serial"));
        await _slowRequestStarted.Task.WaitAsync(TimeSpan.FromSeconds(20));
        clientSvids.Svid = Own(_ca.CreateX509Svid(s_clientId));
        Assert.Equal(clientSvids.Svid.Certificate.GetSerialNumberString(), await http.GetStringAsync(new Uri(address, "/serial")));

        // The drain period has passed, but the old handler must stay alive while the request runs.
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(handler.HandlersCreated - 1, handler.RetiredCount + handler.HandlersDisposed);
        Assert.True(handler.RetiredCount >= 1, $"retired {handler.RetiredCount}");
        _slowRequestRelease.SetResult();

        Assert.Equal(oldSerial, await slow);

        // Once the request is done, the next drain check disposes it.
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, handler.RetiredCount);
        Assert.Equal(handler.HandlersCreated - 1, handler.HandlersDisposed);
    }

    [Fact]
    public async Task SpiffeHttpHandler_ShortLivedSvid_PooledConnectionsLiveAQuarterOfIt()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        DateTimeOffset notBefore = DateTimeOffset.UtcNow.AddSeconds(-1);
        var clientSvids = new MutableSvidSource(Own(_ca.CreateX509Svid(s_clientId, new Spiffe.Testing.TestX509SvidOptions { NotBefore = notBefore, NotAfter = notBefore.AddMinutes(8) })));
        using var handler = new SpiffeHttpHandler(clientSvids, _bundles, SpiffeIdAuthorizer.Exact(s_serverId));
        using var http = new HttpClient(handler, disposeHandler: false);
        Assert.Null(handler.CurrentConnectionLifetime);

        Assert.Equal(s_clientId.ToString(), await http.GetStringAsync(new Uri(address, "/whoami")));
        Assert.Equal(TimeSpan.FromMinutes(2), handler.CurrentConnectionLifetime);

        // Rotated to an hour-long SVID: the next inner handler goes back to the 5-minute cap.
        clientSvids.Svid = Own(_ca.CreateX509Svid(s_clientId));
        Assert.Equal(s_clientId.ToString(), await http.GetStringAsync(new Uri(address, "/whoami")));
        Assert.Equal(SpiffeHttpHandlerOptions.MaxPooledConnectionLifetime, handler.CurrentConnectionLifetime);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task SpiffeHttpHandler_AuthorizedServer_ServerSeesClientSpiffeId(string version)
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        using var http = new HttpClient(new SpiffeHttpHandler(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        using HttpResponseMessage response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/whoami"))
        {
            Version = Version.Parse(version),
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
        Assert.Equal(s_clientId.ToString(), await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task SpiffeHttpHandler_ClientSvidRotated_NextRequestPresentsNewSerial(string version)
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        MutableSvidSource clientSvids = Svid(s_clientId);
        using var handler = new SpiffeHttpHandler(clientSvids, _bundles, SpiffeIdAuthorizer.Exact(s_serverId));
        using var http = new HttpClient(handler, disposeHandler: false) { DefaultRequestVersion = Version.Parse(version), DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        string firstSerial = clientSvids.Svid!.Certificate.GetSerialNumberString();

        Assert.Equal(firstSerial, await http.GetStringAsync(new Uri(address, "/serial")));
        Assert.Equal(firstSerial, await http.GetStringAsync(new Uri(address, "/serial")));
        clientSvids.Svid = Own(_ca.CreateX509Svid(s_clientId));

        // The pooled connection still carries the old certificate; the handler must not reuse it.
        Assert.Equal(clientSvids.Svid.Certificate.GetSerialNumberString(), await http.GetStringAsync(new Uri(address, "/serial")));
        Assert.NotEqual(firstSerial, clientSvids.Svid.Certificate.GetSerialNumberString());
    }

    [Fact]
    public async Task SpiffeHttpHandler_ServerIdNotAuthorized_FailsSayingWhy()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        SpiffeId expected = SpiffeId.Parse("spiffe://example.org/other-backend");
        using var http = new HttpClient(new SpiffeHttpHandler(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(expected)));

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri(address, "/whoami")));

        Assert.Contains($"the server SPIFFE ID {s_serverId} is not authorized", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(HttpRequestError.SecureConnectionError, thrown.HttpRequestError);
        Assert.IsType<HttpRequestException>(thrown.InnerException);
    }

    // Kestrel checks the client certificate after its TLS handshake; the client sees only the
    // close, in one of three shapes (see GrpcSpiffeTests.AssertRefusedByServer). Ten fresh handlers
    // per version, so more than one shape is met; each must be explained the same way.
    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task SpiffeHttpHandler_ServerRefusesThisClient_FailsNamingThePresentedId(string version)
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(SpiffeId.Parse("spiffe://example.org/admin"))));
        for (int attempt = 0; attempt < 10; attempt++)
        {
            using var http = new HttpClient(new SpiffeHttpHandler(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)))
            {
                DefaultRequestVersion = Version.Parse(version),
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };

            HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri(address, "/whoami")));

            Assert.Contains($"closed the connection right after the TLS handshake", thrown.Message, StringComparison.Ordinal);
            Assert.Contains($"does not allow this workload's SPIFFE ID {s_clientId}", thrown.Message, StringComparison.Ordinal);
            Assert.Equal(HttpRequestError.SecureConnectionError, thrown.HttpRequestError);
            Assert.IsType<HttpRequestException>(Assert.IsType<IOException>(thrown.InnerException).InnerException);
        }
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task SpiffeHttpHandler_ServerAbortsOnAReusedConnection_NotBlamedOnAuthorization(string version)
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        using var http = new HttpClient(new SpiffeHttpHandler(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)))
        {
            DefaultRequestVersion = Version.Parse(version),
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        Assert.Equal(s_clientId.ToString(), await http.GetStringAsync(new Uri(address, "/whoami")));

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri(address, "/abort")));

        Assert.DoesNotContain("TLS handshake", thrown.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("authorizer", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpiffeHttpHandler_NothingListening_PlainConnectionError()
    {
        Uri address;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            address = new Uri($"https://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/");
            probe.Stop();
        }

        using var http = new HttpClient(new SpiffeHttpHandler(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(address));

        Assert.Equal(HttpRequestError.ConnectionError, thrown.HttpRequestError);
        Assert.DoesNotContain("TLS handshake", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpiffeHttpHandler_NoSvidYet_FailsWithSourceError()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Any()));
        using var http = new HttpClient(new SpiffeHttpHandler(new MutableSvidSource(), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri(address, "/whoami")));

        Assert.IsType<SpiffeException>(thrown.InnerException);
        Assert.StartsWith("No X509-SVID to present", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpiffeHttpHandler_ConcurrentRequestsAcrossRotation_AllSucceed()
    {
        const int Clients = 20;
        const int RequestsPerClient = 10;
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        MutableSvidSource clientSvids = Svid(s_clientId);
        using var handler = new SpiffeHttpHandler(clientSvids, _bundles, SpiffeIdAuthorizer.Exact(s_serverId));
        using var http = new HttpClient(handler, disposeHandler: false) { Timeout = TimeSpan.FromSeconds(30) };
        string oldSerial = clientSvids.Svid!.Certificate.GetSerialNumberString();
        var newSvid = Own(_ca.CreateX509Svid(s_clientId));
        string newSerial = newSvid.Certificate.GetSerialNumberString();
        int completed = 0;
        int failures = 0;

        async Task<List<string>> RunClientAsync()
        {
            var seen = new List<string>();
            for (int i = 0; i < RequestsPerClient; i++)
            {
                try
                {
                    seen.Add(await http.GetStringAsync(new Uri(address, "/serial")));
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }

                if (Interlocked.Increment(ref completed) == Clients * RequestsPerClient / 2)
                {
                    clientSvids.Svid = newSvid; // rotation in the middle
                }
            }

            return seen;
        }

        List<string>[] results = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => Task.Run(RunClientAsync)));

        Assert.Equal(0, failures);
        string[] all = [.. results.SelectMany(r => r)];
        Assert.Equal(Clients * RequestsPerClient, all.Length);
        Assert.All(all, serial => Assert.True(serial == oldSerial || serial == newSerial, serial));
        Assert.Contains(oldSerial, all);
        Assert.Contains(newSerial, all);
        Assert.Equal(newSerial, await http.GetStringAsync(new Uri(address, "/serial")));
    }

    [Fact]
    public async Task SpiffeHttpHandler_RetiredHandlers_DisposedAfterDrainAndOnDispose()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        MutableSvidSource clientSvids = Svid(s_clientId);
        var time = new FakeTimeProvider();
        var handler = new SpiffeHttpHandler(clientSvids, _bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions { DrainPeriod = TimeSpan.FromMilliseconds(100), TimeProvider = time });
        using var http = new HttpClient(handler, disposeHandler: false);

        for (int rotation = 0; rotation < 3; rotation++)
        {
            await http.GetStringAsync(new Uri(address, "/serial"));
            clientSvids.Svid = Own(_ca.CreateX509Svid(s_clientId));
        }

        Assert.Equal(clientSvids.Svid!.Certificate.GetSerialNumberString(), await http.GetStringAsync(new Uri(address, "/serial")));
        Assert.True(handler.HandlersCreated >= 4, $"created {handler.HandlersCreated}");

        // Every handler but the current one drains and is disposed when the drain period passes.
        Assert.Equal(0, handler.HandlersDisposed);
        time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal(handler.HandlersCreated - 1, handler.HandlersDisposed);
        Assert.Equal(0, handler.RetiredCount);

        handler.Dispose();
        Assert.Equal(handler.HandlersCreated, handler.HandlersDisposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => http.GetStringAsync(new Uri(address, "/serial")));
    }

    [Fact]
    public async Task SpiffeHttpHandler_ManyRotationsWithLongDrain_RetiredHandlersBounded()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        MutableSvidSource clientSvids = Svid(s_clientId);
        using var handler = new SpiffeHttpHandler(clientSvids, _bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions { DrainPeriod = TimeSpan.FromHours(1) });
        using var http = new HttpClient(handler, disposeHandler: false);

        for (int rotation = 0; rotation < SpiffeHttpHandler.MaxRetiredHandlers + 4; rotation++)
        {
            clientSvids.Svid = Own(_ca.CreateX509Svid(s_clientId));
            Assert.Equal(clientSvids.Svid.Certificate.GetSerialNumberString(), await http.GetStringAsync(new Uri(address, "/serial")));
        }

        Assert.Equal(SpiffeHttpHandler.MaxRetiredHandlers, handler.RetiredCount);
        Assert.Equal(handler.HandlersCreated - 1 - SpiffeHttpHandler.MaxRetiredHandlers, handler.HandlersDisposed);
    }

    [Theory]
    [InlineData(60, 5)]
    [InlineData(2, 2)]
    public async Task SpiffeHttpHandler_PooledConnectionLifetime_CappedAtFiveMinutes(int configuredMinutes, int expectedMinutes)
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        var inner = new List<SocketsHttpHandler>();
        using var http = new HttpClient(new SpiffeHttpHandler(Svid(s_clientId), _bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(configuredMinutes),
            ConfigureHandler = handler =>
            {
                handler.PooledConnectionLifetime = TimeSpan.FromHours(10); // overridden by the SDK
                inner.Add(handler);
            },
        }));

        Assert.Equal(s_clientId.ToString(), await http.GetStringAsync(new Uri(address, "/whoami")));

        SocketsHttpHandler first = Assert.Single(inner);
        Assert.Equal(TimeSpan.FromMinutes(expectedMinutes), first.PooledConnectionLifetime);
    }

    [Fact]
    public void SpiffeHttpHandlerOptions_InvalidValues_Rejected()
    {
        var svids = Svid(s_clientId);
        Assert.Throws<ArgumentException>(() => new SpiffeHttpHandler(svids, _bundles, SpiffeIdAuthorizer.Any(), new SpiffeHttpHandlerOptions { PooledConnectionLifetime = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new SpiffeHttpHandler(svids, _bundles, SpiffeIdAuthorizer.Any(), new SpiffeHttpHandlerOptions { DrainPeriod = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentNullException>(() => new SpiffeHttpHandler(svids, _bundles, null!));
    }
}

/// <summary>How long SpiffeHttpHandler lets a pooled connection live.</summary>
public sealed class SpiffeHttpHandlerConnectionLifetimeTests : IDisposable
{
    private static readonly SpiffeId s_id = SpiffeId.Parse("spiffe://example.org/frontend");
    private readonly Spiffe.Testing.TestCertificateAuthority _ca = Spiffe.Testing.TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));

    public void Dispose() => _ca.Dispose();

    [Theory]
    [InlineData(3600, 300, 300)] // SPIRE's default hour-long SVID: the 5-minute cap
    [InlineData(3600, 30, 30)] // a shorter configured lifetime wins
    [InlineData(1200, 300, 300)] // 20 minutes: a quarter is exactly the cap
    [InlineData(480, 300, 120)] // 8 minutes: a quarter, 2 minutes
    [InlineData(8, 300, 2)] // 8 seconds: 2 seconds
    [InlineData(2, 300, 1)] // shorter than 4 seconds: the 1-second floor
    public void ConnectionLifetimeFor_SvidValidity_CapsAtAQuarterOfIt(int validitySeconds, int configuredSeconds, int expectedSeconds)
    {
        using Spiffe.X509.X509Svid svid = Issue(validitySeconds);

        TimeSpan lifetime = SpiffeHttpHandler.ConnectionLifetimeFor(svid, TimeSpan.FromSeconds(configuredSeconds));

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), lifetime);
    }

    private Spiffe.X509.X509Svid Issue(int validitySeconds)
    {
        DateTimeOffset notBefore = DateTimeOffset.UtcNow.AddSeconds(-1);
        return _ca.CreateX509Svid(s_id, new Spiffe.Testing.TestX509SvidOptions { NotBefore = notBefore, NotAfter = notBefore.AddSeconds(validitySeconds) });
    }
}

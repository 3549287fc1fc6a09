using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Spiffe.Core.Tests.Tls;
using Spiffe.Testing;
using Spiffe.Tls;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// What an operator sees of refused clients through real Kestrel (UseSpiffeMtls), with the host's
/// own ILoggerFactory and IMeterFactory: one Warning per refusal (event 300) with the reason, the
/// presented SPIFFE ID and the remote address, and the <c>spiffe.tls.handshakes</c> counter.
/// </summary>
public sealed class KestrelHandshakeTelemetryTests : IDisposable
{
    private static readonly TrustDomain s_local = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_serverId = SpiffeId.Parse("spiffe://example.org/backend");
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");
    private static readonly SpiffeId s_intruderId = SpiffeId.Parse("spiffe://example.org/intruder");

    private readonly DisposalScope _owned = new();
    private readonly TestCertificateAuthority _ca;
    private readonly MutableBundleSource _bundles;

    public KestrelHandshakeTelemetryTests()
    {
        _ca = _owned.Add(TestCertificateAuthority.Create(s_local, new() { WithIntermediate = true }));
        _bundles = new MutableBundleSource(_owned.Add(_ca.CreateX509Bundle()));
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { "expired", "frontend" },
        { "untrusted_chain", "frontend" },
        { "not_authorized", "intruder" },
    };

    public void Dispose() => _owned.Dispose();

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task RefusedClient_LoggedAtWarningWithReasonIdAndAddress_Counted(string reason, string path)
    {
        SpiffeId presented = SpiffeId.Parse($"spiffe://example.org/{path}");
        using var otherCa = TestCertificateAuthority.Create(s_local);
        Spiffe.X509.X509Svid clientSvid = reason switch
        {
            "expired" => _owned.Add(_ca.CreateX509Svid(presented, new TestX509SvidOptions { NotBefore = DateTimeOffset.UtcNow.AddHours(-2), NotAfter = DateTimeOffset.UtcNow.AddMinutes(-5) })),
            "untrusted_chain" => _owned.Add(otherCa.CreateX509Svid(presented)),
            _ => _owned.Add(_ca.CreateX509Svid(presented)),
        };
        var logs = new FakeLogCollector();
        MetricCollector<long>? handshakes = null;
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(
            listen => listen.UseSpiffeMtls(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId))), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)),
            app => handshakes = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Spiffe.Core", "spiffe.tls.handshakes"),
            new FakeLoggerProvider(logs));
        using MetricCollector<long> collector = handshakes!;
        using var refused = new HttpClient(new SpiffeHttpHandler(new MutableSvidSource(clientSvid), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));
        using var accepted = new HttpClient(new SpiffeHttpHandler(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_clientId))), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        await Assert.ThrowsAsync<HttpRequestException>(() => refused.GetAsync(server.Peer));
        await server.HandshakeFailures.WaitForFailureAsync();
        (await accepted.GetAsync(server.Peer)).EnsureSuccessStatusCode();

        // SocketsHttpHandler retries a request whose new HTTP/1.1 connection closed before any
        // response (up to 3 times), so the client may have made several handshakes: each is logged
        // and counted once.
        FakeLogRecord[] records = [.. logs.GetSnapshot().Where(r => r.Id.Id == 300)];
        Assert.NotEmpty(records);
        Assert.All(records, record =>
        {
            Assert.Equal(LogLevel.Warning, record.Level);
            Assert.Equal("Spiffe.Tls", record.Category);
            Assert.Contains($": {reason};", record.Message, StringComparison.Ordinal);
            Assert.Contains($"presented SPIFFE ID {presented};", record.Message, StringComparison.Ordinal);
            Assert.Contains("127.0.0.1", record.Message, StringComparison.Ordinal);
            Assert.Equal(reason, record.StructuredState!.Single(p => p.Key == "Reason").Value);
        });
        IReadOnlyList<CollectedMeasurement<long>> measurements = collector.GetMeasurementSnapshot();
        Assert.Equal(records.Length, measurements.Where(m => Tag(m, "result") == "refused").Sum(m => m.Value));
        Assert.All(measurements.Where(m => Tag(m, "result") == "refused"), m => Assert.True(Tag(m, "reason") == reason && Tag(m, "role") == "server", string.Join(",", m.Tags)));
        Assert.Single(measurements, m => Tag(m, "result") == "accepted" && Tag(m, "role") == "server");
    }

    [Fact]
    public async Task UseSpiffeMtls_EndpointWithHttp3_RemovesOnlyHttp3AndSaysSo()
    {
        var logs = new FakeLogCollector();
        HttpProtocols seen = HttpProtocols.None;
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(
            listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2AndHttp3;
                listen.UseSpiffeMtls(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId))), _bundles, SpiffeIdAuthorizer.Exact(s_clientId));
                seen = listen.Protocols;
            },
            logs: new FakeLoggerProvider(logs));

        Assert.Equal(HttpProtocols.Http1AndHttp2, seen);
        FakeLogRecord record = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 310);
        Assert.Equal(LogLevel.Information, record.Level);
        Assert.Contains("HTTP/3 removed", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseSpiffeMtls_Http1OnlyEndpoint_ProtocolsKept()
    {
        var logs = new FakeLogCollector();
        HttpProtocols seen = HttpProtocols.None;
        await using KestrelTestServer server = await KestrelTestServer.StartAsync(
            listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.UseSpiffeMtls(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId))), _bundles, SpiffeIdAuthorizer.Exact(s_clientId), new SpiffeTlsOptions { HandshakeTimeout = TimeSpan.FromSeconds(3) });
                seen = listen.Protocols;
            },
            logs: new FakeLoggerProvider(logs));
        using var http = new HttpClient(new SpiffeHttpHandler(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_clientId))), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        using HttpResponseMessage response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Peer) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower });

        Assert.Equal(HttpProtocols.Http1, seen);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Id == 310);
    }

    [Fact]
    public async Task SpiffeHttpHandler_ConcurrentConnectionsRefusedForDifferentReasons_EachExplainsItsOwn()
    {
        // Three servers reached through one handler at once: one accepted, one refused for its ID,
        // one refused for its chain. Each failure must carry its own connection's reason.
        using var otherCa = TestCertificateAuthority.Create(s_local);
        await using KestrelTestServer good = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_serverId))), _bundles, SpiffeIdAuthorizer.Any()));
        await using KestrelTestServer wrongId = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_intruderId))), _bundles, SpiffeIdAuthorizer.Any()));
        await using KestrelTestServer wrongCa = await KestrelTestServer.StartAsync(listen => listen.UseSpiffeMtls(new MutableSvidSource(_owned.Add(otherCa.CreateX509Svid(s_serverId))), _bundles, SpiffeIdAuthorizer.Any()));
        using var handler = new SpiffeHttpHandler(new MutableSvidSource(_owned.Add(_ca.CreateX509Svid(s_clientId))), _bundles, SpiffeIdAuthorizer.Exact(s_serverId), new SpiffeHttpHandlerOptions { Tls = new SpiffeTlsOptions { AllowTlsResume = false } });
        using var http = new HttpClient(handler);

        for (int round = 0; round < 5; round++)
        {
            Task<HttpResponseMessage> accepted = http.SendAsync(NewConnection(good));
            Task<HttpResponseMessage> byId = http.SendAsync(NewConnection(wrongId));
            Task<HttpResponseMessage> byChain = http.SendAsync(NewConnection(wrongCa));

            (await accepted).EnsureSuccessStatusCode();
            HttpRequestException idFailure = await Assert.ThrowsAsync<HttpRequestException>(() => byId);
            HttpRequestException chainFailure = await Assert.ThrowsAsync<HttpRequestException>(() => byChain);
            Assert.Contains($"the server SPIFFE ID {s_intruderId} is not authorized", idFailure.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("chain validation", idFailure.Message, StringComparison.Ordinal);
            Assert.Contains($"the server certificate failed chain validation: the server SVID {s_serverId} does not chain to the bundle of {s_local}", chainFailure.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("is not authorized", chainFailure.Message, StringComparison.Ordinal);
        }
    }

    private static HttpRequestMessage NewConnection(KestrelTestServer server)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, server.Peer) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.ConnectionClose = true;
        return request;
    }

    private static string? Tag(CollectedMeasurement<long> measurement, string name) =>
        measurement.Tags.TryGetValue(name, out object? value) ? value as string : null;
}

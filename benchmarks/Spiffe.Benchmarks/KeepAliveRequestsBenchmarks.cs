using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore;
using Spiffe.Bundles;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.Benchmarks;

/// <summary>
/// Requests per second on warm (keep-alive) mutual TLS connections: Kestrel and HttpClient in one
/// process over 127.0.0.1, one op = one GET of a 2-byte body (each invocation runs 100 of them,
/// split over <see cref="Concurrency"/> parallel callers). The SDK path is a Kestrel endpoint with
/// <c>UseSpiffeMtls</c> called through <see cref="SpiffeHttpHandler"/>. The baseline is what a user
/// would write by hand with static certificates: Kestrel <c>UseHttps</c> with a fixed server
/// certificate and chain, <c>RequireCertificate</c> and a <c>ClientCertificateValidation</c> that
/// builds a CustomRootTrust chain (once per connection), and a plain SocketsHttpHandler with a static
/// client certificate context and a CustomRootTrust policy. Same certificates on both paths (P-256,
/// one intermediate). Target (issue 4): SDK ≥ 0.98x the baseline's requests per second.
/// </summary>
[MemoryDiagnoser]
public class KeepAliveRequestsBenchmarks
{
    private const int RequestsPerInvocation = 100;

    private TestCertificateAuthority _ca = null!;
    private X509Bundle _bundle = null!;
    private X509Svid _serverSvid = null!;
    private X509Svid _clientSvid = null!;
    private WebApplication _sdkServer = null!;
    private WebApplication _staticServer = null!;
    private HttpClient _sdkClient = null!;
    private HttpClient _staticClient = null!;
    private Uri _sdkUri = null!;
    private Uri _staticUri = null!;

    /// <summary>HTTP version of every request: 1.1 (one connection per concurrent caller) or 2.0 (one multiplexed connection).</summary>
    [Params("1.1", "2.0")]
    public string Version { get; set; } = "1.1";

    /// <summary>
    /// Parallel callers sharing the 100 requests of an invocation: 1 and 8, or the comma-separated
    /// list in <c>SPIFFE_BENCH_CONCURRENCY</c> (to spend a long run on one setting).
    /// </summary>
    [ParamsSource(nameof(ConcurrencyLevels))]
    public int Concurrency { get; set; } = 1;

    /// <summary>The values of <see cref="Concurrency"/>.</summary>
    public static IEnumerable<int> ConcurrencyLevels() =>
        Environment.GetEnvironmentVariable("SPIFFE_BENCH_CONCURRENCY") is { Length: > 0 } list
            ? list.Split(',').Select(value => int.Parse(value, System.Globalization.CultureInfo.InvariantCulture))
            : [1, 8];

    [GlobalSetup]
    public void Setup()
    {
        _ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"), new() { WithIntermediate = true });
        _bundle = _ca.CreateX509Bundle();
        _serverSvid = _ca.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/backend"));
        _clientSvid = _ca.CreateX509Svid(SpiffeId.Parse("spiffe://example.org/frontend"));

        // One policy for both hand-written sides: the root as the only anchor, the intermediate known up front.
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(_bundle.X509Authorities[0]);
        policy.ExtraStore.AddRange(_clientSvid.Intermediates.ToArray());

        _sdkServer = StartServer(listen => listen.UseSpiffeMtls(new FixedSvid(_serverSvid), _bundle, SpiffeIdAuthorizer.Exact(_clientSvid.Id)));
        _staticServer = StartServer(listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = _serverSvid.Certificate;
                https.ServerCertificateChain = [.. _serverSvid.Intermediates];
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, _, _) => ChainsToRoot(certificate, policy);
            });
        });
        _sdkUri = Address(_sdkServer);
        _staticUri = Address(_staticServer);

        _sdkClient = new HttpClient(new SpiffeHttpHandler(new FixedSvid(_clientSvid), _bundle, SpiffeIdAuthorizer.Exact(_serverSvid.Id)));
        _staticClient = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = SslStreamCertificateContext.Create(_clientSvid.Certificate, [.. _clientSvid.Intermediates], offline: true),
                CertificateChainPolicy = policy,
                // SVIDs carry no DNS name: the same single-bit mask as the SDK.
                RemoteCertificateValidationCallback = static (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None,
            },
        });
        foreach (HttpClient client in new[] { _sdkClient, _staticClient })
        {
            client.DefaultRequestVersion = System.Version.Parse(Version);
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        // Warm every connection the runs will use (the SDK client also learns the server's intermediate here).
        StaticCertificates().GetAwaiter().GetResult();
        SdkUseSpiffeMtlsAndHandler().GetAwaiter().GetResult();
        StaticCertificates().GetAwaiter().GetResult();
        SdkUseSpiffeMtlsAndHandler().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sdkClient.Dispose();
        _staticClient.Dispose();
        _sdkServer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _staticServer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serverSvid.Dispose();
        _clientSvid.Dispose();
        _bundle.Dispose();
        _ca.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = RequestsPerInvocation, Description = "static certs: Kestrel UseHttps + SocketsHttpHandler")]
    public Task StaticCertificates() => RunAsync(_staticClient, _staticUri);

    [Benchmark(OperationsPerInvoke = RequestsPerInvocation, Description = "SDK: UseSpiffeMtls + SpiffeHttpHandler")]
    public Task SdkUseSpiffeMtlsAndHandler() => RunAsync(_sdkClient, _sdkUri);

    private async Task RunAsync(HttpClient client, Uri uri)
    {
        if (Concurrency == 1)
        {
            await CallerAsync(client, uri, RequestsPerInvocation);
            return;
        }

        var callers = new Task[Concurrency];
        for (int i = 0; i < callers.Length; i++)
        {
            int share = (RequestsPerInvocation / Concurrency) + (i < RequestsPerInvocation % Concurrency ? 1 : 0);
            callers[i] = CallerAsync(client, uri, share);
        }

        await Task.WhenAll(callers);
    }

    private static async Task CallerAsync(HttpClient client, Uri uri, int requests)
    {
        for (int i = 0; i < requests; i++)
        {
            using HttpResponseMessage response = await client.GetAsync(uri);
            if (response.StatusCode != HttpStatusCode.OK || (await response.Content.ReadAsByteArrayAsync()).Length != 2)
            {
                throw new InvalidOperationException($"Unexpected response {response.StatusCode}.");
            }
        }
    }

    // The hand-written check: Kestrel's chain is built against the system store, so build one with the custom root.
    private static bool ChainsToRoot(X509Certificate2 certificate, X509ChainPolicy policy)
    {
        using var chain = new X509Chain { ChainPolicy = policy.Clone() };
        try
        {
            return chain.Build(certificate);
        }
        finally
        {
            foreach (X509ChainElement element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }

    private static WebApplication StartServer(Action<ListenOptions> configure)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, configure));
        WebApplication app = builder.Build();
        app.MapGet("/", () => "ok");
        app.StartAsync().GetAwaiter().GetResult();
        return app;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    private sealed class FixedSvid(X509Svid svid) : IX509SvidSource
    {
        public X509Svid GetX509Svid() => svid;
    }
}

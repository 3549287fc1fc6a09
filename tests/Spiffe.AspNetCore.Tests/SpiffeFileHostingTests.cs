using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.Bundles;
using Spiffe.Files;
using Spiffe.Testing;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// <c>AddSpiffe()</c> with <c>Spiffe:Files</c>: the X509-SVID from real files (the layout
/// <c>spiffe x509 fetch --write</c> writes), served by a real Kestrel through <c>listen.UseSpiffeMtls()</c>
/// from DI, with no Workload API configured at all.
/// </summary>
public sealed class SpiffeFileHostingTests : IAsyncDisposable
{
    private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create(SpiffeTestHost.Domain, new TestCertificateAuthorityOptions { WithIntermediate = true });
    private readonly string _directory = Directory.CreateTempSubdirectory("spiffe-aspnet-files-").FullName;
    private WebApplication? _app;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Writes svid.pem, svid_key.pem and bundle.pem as <c>spiffe x509 fetch --write</c> does; returns the serial.</summary>
    private string WriteFetchLayout()
    {
        using X509Svid svid = _ca.CreateX509Svid(SpiffeTestHost.Backend);
        using X509Bundle bundle = _ca.CreateX509Bundle();
        File.WriteAllText(Path.Combine(_directory, "svid.pem"), svid.ToPem(), Encoding.ASCII);
        File.WriteAllText(Path.Combine(_directory, "svid_key.pem"), svid.ExportPrivateKeyPem(), Encoding.ASCII);
        File.WriteAllText(Path.Combine(_directory, "bundle.pem"), bundle.ToPem(), Encoding.ASCII);
        return svid.Certificate.SerialNumber;
    }

    private Dictionary<string, string?> Configuration(params (string Key, string? Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Spiffe:Files:Directory"] = _directory,
            ["Spiffe:Files:Layout"] = "SpiffeHelper",
            ["Spiffe:Files:BundleFileName"] = "bundle.pem",
            ["Spiffe:Files:PollInterval"] = "00:00:00.200",
            ["Spiffe:StartTimeout"] = "00:00:20",
            ["Spiffe:Authorization:AllowedIds:0"] = SpiffeTestHost.Frontend.ToString(),
            ["Spiffe:WorkloadApi:Address"] = null, // no agent at all: the files are the only source
        };
        foreach ((string key, string? value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    private WebApplication Build(Dictionary<string, string?> configuration)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.ClearProviders();
        builder.Services.AddSpiffe();
        builder.Services.AddHealthChecks().AddSpiffe();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseSpiffeMtls()));
        _app = builder.Build();
        _app.MapGet("/whoami", (HttpContext context) => context.TryGetSpiffeId(out SpiffeId? id) ? id.ToString() : "anonymous");
        return _app;
    }

    private HttpClient Client(SpiffeId id, DisposalScope scope)
    {
        X509Svid svid = scope.Add(_ca.CreateX509Svid(id));
        var bundles = new Spiffe.Core.Tests.Tls.MutableBundleSource(scope.Add(_ca.CreateX509Bundle()));
        var handler = new Spiffe.Tls.SpiffeHttpHandler(new Spiffe.Core.Tests.Tls.MutableSvidSource(svid), bundles, SpiffeIdAuthorizer.Exact(SpiffeTestHost.Backend));
        return new HttpClient(handler);
    }

    private Uri Address => new(_app!.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    [Fact]
    public async Task AddSpiffe_FilesDirectory_UseSpiffeMtlsFromDiServesFileSvidAndAdmitsOnlyConfiguredId()
    {
        string serial = WriteFetchLayout();
        WebApplication app = Build(Configuration());
        await app.StartAsync(SpiffeTestHost.Timeout());
        using var scope = new DisposalScope();

        FileX509Source files = app.Services.GetRequiredService<FileX509Source>();
        Assert.Same(files, app.Services.GetRequiredService<IX509SvidSource>());
        Assert.Same(files, app.Services.GetRequiredService<IX509BundleSetSource>());
        Assert.Same(files, app.Services.GetRequiredService<IX509BundleSource>());
        Assert.Equal(serial, files.GetX509Svid().Certificate.SerialNumber);

        using HttpClient frontend = Client(SpiffeTestHost.Frontend, scope);
        Assert.Equal(SpiffeTestHost.Frontend.ToString(), await frontend.GetStringAsync(new Uri(Address, "/whoami")));

        using HttpClient intruder = Client(SpiffeTestHost.Intruder, scope);
        await Assert.ThrowsAsync<HttpRequestException>(() => intruder.GetStringAsync(new Uri(Address, "/whoami")));

        InvalidOperationException x509 = Assert.Throws<InvalidOperationException>(() => app.Services.GetRequiredService<X509Source>());
        Assert.Contains("Spiffe:Files:Directory is set", x509.Message);
    }

    [Fact]
    public async Task AddSpiffe_FilesRewritten_NextHandshakePresentsNewServerSvid()
    {
        WriteFetchLayout();
        WebApplication app = Build(Configuration());
        await app.StartAsync(SpiffeTestHost.Timeout());
        FileX509Source files = app.Services.GetRequiredService<FileX509Source>();
        using var scope = new DisposalScope();

        Task updated = files.WaitForUpdateAsync(SpiffeTestHost.Timeout());
        string newSerial = WriteFetchLayout();
        await updated;

        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(Address.Host, Address.Port);
        X509Svid client = scope.Add(_ca.CreateX509Svid(SpiffeTestHost.Frontend));
        using X509Bundle bundle = _ca.CreateX509Bundle();
        using var tls = new System.Net.Security.SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(Spiffe.Tls.SpiffeTlsClient.MutualTls(new Spiffe.Core.Tests.Tls.MutableSvidSource(client), new Spiffe.Core.Tests.Tls.MutableBundleSource(bundle), SpiffeIdAuthorizer.Exact(SpiffeTestHost.Backend)).GetOptions("localhost"), SpiffeTestHost.Timeout());

        Assert.Equal(newSerial, new System.Security.Cryptography.X509Certificates.X509Certificate2(tls.RemoteCertificate!).SerialNumber);
    }

    [Fact]
    public async Task AddSpiffe_NoValidFilesWithinStartTimeout_StartFailsWithReasonNamingTheFile()
    {
        WebApplication app = Build(Configuration(("Spiffe:StartTimeout", "00:00:00.500")));

        SpiffeException thrown = await Assert.ThrowsAsync<SpiffeException>(() => app.StartAsync(SpiffeTestHost.Timeout()));

        Assert.Contains("No valid files", thrown.Message);
        Assert.Contains("svid.pem", thrown.Message);
    }

    [Fact]
    public async Task HealthCheck_Files_HealthyThenDegradedWhileFilesRejected()
    {
        WriteFetchLayout();
        WebApplication app = Build(Configuration());
        await app.StartAsync(SpiffeTestHost.Timeout());
        HealthCheckService health = app.Services.GetRequiredService<HealthCheckService>();

        HealthReportEntry healthy = (await health.CheckHealthAsync(SpiffeTestHost.Timeout())).Entries["spiffe"];
        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Equal(_directory, healthy.Data["address"]);
        Assert.Equal(SpiffeTestHost.Backend.ToString(), healthy.Data["spiffe_id"]);

        File.WriteAllText(Path.Combine(_directory, "svid_key.pem"), "garbage", Encoding.ASCII);
        Assert.False(await app.Services.GetRequiredService<FileX509Source>().ReloadAsync(SpiffeTestHost.Timeout()));
        HealthReportEntry degraded = (await health.CheckHealthAsync(SpiffeTestHost.Timeout())).Entries["spiffe"];

        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains("the SVID files are rejected", degraded.Description);
        Assert.True(degraded.Data.ContainsKey("last_error"));
        Assert.DoesNotContain("PRIVATE KEY", string.Join("|", degraded.Data.Values), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Spiffe:Files:PollInterval", "00:00:00", "Spiffe:Files:PollInterval is 00:00:00: it must be more than 0")]
    [InlineData("Spiffe:Files:CertificateFileName", "../svid.pem", "Spiffe:Files:CertificateFileName: '../svid.pem' is not a file name")]
    public async Task AddSpiffe_InvalidFilesValue_StartFailsNamingTheKey(string key, string value, string expected)
    {
        WriteFetchLayout();

        // listen.UseSpiffeMtls() reads the options when Kestrel applies its configuration (at build), so that fails first.
        OptionsValidationException thrown = await Assert.ThrowsAsync<OptionsValidationException>(() => Build(Configuration((key, value))).StartAsync(SpiffeTestHost.Timeout()));

        Assert.Contains(expected, thrown.Message);
    }

    [Fact]
    public async Task AddSpiffe_FileNameWithoutDirectory_StartFailsNamingDirectoryKey()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Spiffe:WorkloadApi:Address"] = "unix:///tmp/none.sock",
            ["Spiffe:Files:BundleFileName"] = "bundle.pem",
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSpiffe();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();

        OptionsValidationException thrown = await Assert.ThrowsAsync<OptionsValidationException>(() => _app.StartAsync(SpiffeTestHost.Timeout()));

        Assert.Contains("Spiffe:Files:BundleFileName is set but Spiffe:Files:Directory is not", thrown.Message);
    }
}

using Microsoft.Extensions.Logging;
using Spiffe.Docs.Tests.Examples;
using Spiffe.Jwt;
using Spiffe.Testing;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Docs.Tests;

/// <summary>
/// Runs the doc examples that need no fixed port or real agent, against the in-process Workload API
/// (<see cref="WorkloadApiServer"/>), test authorities and real files.
/// </summary>
public sealed class ExampleRunTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private static readonly TrustDomain s_domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_frontend = SpiffeId.Parse("spiffe://example.org/frontend");

    [Fact]
    public async Task JwtExamples_FetchAndValidate_AgainstWorkloadApiServer_ValidateCaller()
    {
        using var authority = new TestJwtAuthority(s_domain);
        authority.AddKey("ES256");
        await using var agent = await WorkloadApiServer.StartAsync();
        agent.SetJwtBundles(new Dictionary<string, byte[]> { [s_domain.Id.ToString()] = authority.CreateJwks() });
        agent.SetJwtSvidMinter(request => [new WorkloadApiJwtSvid(s_frontend.ToString(), authority.MintJwtSvid(s_frontend, request.Audiences))]);
        using var timeout = new CancellationTokenSource(s_timeout);
        await using var jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = agent.Address } }, timeout.Token);
        var logger = new ListLogger();

        using HttpRequestMessage request = await JwtExamples.FetchAsync(jwt);
        string token = request.Headers.Authorization!.Parameter!;

        Assert.Equal("Bearer", request.Headers.Authorization.Scheme);
        Assert.Equal(s_frontend, JwtExamples.Validate(jwt, token, logger));
        Assert.Equal(s_frontend, JwtExamples.ParseAndValidate(jwt, token).Id);
        Assert.Empty(logger.Messages);
    }

    [Fact]
    public async Task JwtExamples_Validate_WrongAudience_LogsKindAndReturnsNull()
    {
        using var authority = new TestJwtAuthority(s_domain);
        authority.AddKey("ES256");
        var logger = new ListLogger();
        await using var agent = await WorkloadApiServer.StartAsync();
        agent.SetJwtBundles(new Dictionary<string, byte[]> { [s_domain.Id.ToString()] = authority.CreateJwks() });
        using var timeout = new CancellationTokenSource(s_timeout);
        await using var jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = agent.Address } }, timeout.Token);

        SpiffeId? caller = JwtExamples.Validate(jwt, authority.MintJwtSvid(s_frontend, ["spiffe://example.org/other"]), logger);

        Assert.Null(caller);
        Assert.Contains(nameof(JwtSvidErrorKind.AudienceMismatch), Assert.Single(logger.Messages), StringComparison.Ordinal);
    }

    [Fact]
    public void ExceptionExamples_ParseJwt_ReportsTheKind()
    {
        using var authority = new TestJwtAuthority(s_domain);
        authority.AddKey("ES256");
        var bundles = authority.CreateJwtBundle();

        Assert.Equal(JwtSvidErrorKind.None, ExceptionExamples.ParseJwt(authority.MintJwtSvid(s_frontend, ["spiffe://example.org/backend"]), bundles));
        Assert.Equal(JwtSvidErrorKind.AudienceMismatch, ExceptionExamples.ParseJwt(authority.MintJwtSvid(s_frontend, ["spiffe://example.org/x"]), bundles));
        Assert.Equal(JwtSvidErrorKind.Malformed, ExceptionExamples.ParseJwt("not-a-jwt", bundles));
    }

    [Fact]
    public async Task ExceptionExamples_StartAsync_NoAgent_ReturnsNullWithRetryableKind()
    {
        var logger = new ListLogger();
        string socket = Path.Combine(Path.GetTempPath(), $"spiffe-docs-{Guid.NewGuid():N}", "agent.sock");

        X509Source? source = await ExceptionExamples.StartAsync("unix://" + socket, logger);

        Assert.Null(source);
        string message = Assert.Single(logger.Messages);
        Assert.Contains("retryable: True", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExceptionExamples_StartAsync_InvalidAddress_RethrowsConfiguration()
    {
        var logger = new ListLogger();

        var error = await Assert.ThrowsAsync<WorkloadApiException>(() => ExceptionExamples.StartAsync("http://agent:1234", logger));

        Assert.Equal(WorkloadApiErrorKind.Configuration, error.Kind);
        Assert.False(error.IsRetryable);
        Assert.StartsWith("Fix the address", Assert.Single(logger.Messages), StringComparison.Ordinal);
    }

    [Fact]
    public void ExceptionExamples_X509ResultAndParse_ReportKinds()
    {
        using var ca = TestCertificateAuthority.Create(s_domain);
        using var other = TestCertificateAuthority.Create(TrustDomain.Parse("other.org"));
        var validator = new X509SvidValidator(ca.CreateX509Bundle());
        var logger = new ListLogger();
        using X509Svid good = ca.CreateX509Svid(s_frontend);
        using X509Svid foreign = other.CreateX509Svid(SpiffeId.Parse("spiffe://other.org/x"));

        Assert.True(ExceptionExamples.IsAllowed(validator, good.Chain, SpiffeIdAuthorizer.Exact(s_frontend), logger));
        Assert.False(ExceptionExamples.IsAllowed(validator, foreign.Chain, SpiffeIdAuthorizer.Any(), logger));
        Assert.Contains("do not federate", Assert.Single(logger.Messages), StringComparison.Ordinal);

        TestX509SvidMaterial wrongKey = ca.CreateX509SvidMaterial(s_frontend, new TestX509SvidOptions { WrongPrivateKey = true });
        Assert.Null(ExceptionExamples.Parse(wrongKey.ChainDer, wrongKey.PrivateKeyPkcs8, logger));
        Assert.Contains(nameof(X509SvidErrorKind.PrivateKey), logger.Messages[^1], StringComparison.Ordinal);
        TestX509SvidMaterial material = ca.CreateX509SvidMaterial(s_frontend);
        using X509Svid? parsed = ExceptionExamples.Parse(material.ChainDer, material.PrivateKeyPkcs8, logger);
        Assert.Equal(s_frontend, parsed!.Id);
    }

    [Fact]
    public async Task FileExamples_ReadDirectory_CsiDriverLayout_ServesTheSvid()
    {
        using var ca = TestCertificateAuthority.Create(s_domain, new TestCertificateAuthorityOptions { WithIntermediate = true });
        using X509Svid svid = ca.CreateX509Svid(s_frontend);
        using var bundle = ca.CreateX509Bundle();
        string directory = Directory.CreateTempSubdirectory("spiffe-docs-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "tls.crt"), svid.ToPem());
            await File.WriteAllTextAsync(Path.Combine(directory, "tls.key"), svid.ExportPrivateKeyPem());
            await File.WriteAllTextAsync(Path.Combine(directory, "ca.crt"), bundle.ToPem());

            Assert.Equal(s_frontend, await FileExamples.ReadDirectoryAsync(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Collects formatted log messages.</summary>
    private sealed class ListLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }
}

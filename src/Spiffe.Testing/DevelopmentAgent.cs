using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Core;
using Spiffe.Bundles;
using Spiffe.Jwt;

namespace Spiffe.Testing;

/// <summary>
/// A local SPIFFE Workload API for development and demos, without SPIRE: a CA (root and
/// intermediate) and a JWT signing key for one trust domain, X509-SVIDs for a fixed list of IDs
/// re-issued every <see cref="DevelopmentAgentOptions.RotationInterval"/>, JWT-SVIDs minted on
/// request, and <c>ValidateJWTSVID</c> answered with the SDK's own validation.
/// </summary>
/// <remarks>
/// Every caller on the socket gets every listed identity: there is no workload attestation. Use it
/// on a laptop or in tests, never as a production agent.
/// <code>
/// var options = new DevelopmentAgentOptions { TrustDomain = TrustDomain.Parse("example.org"), SvidTimeToLive = TimeSpan.FromMinutes(2) };
/// options.Ids.Add(SpiffeId.Parse("spiffe://example.org/web"));
/// await using var agent = await DevelopmentAgent.StartAsync(options);
/// Environment.SetEnvironmentVariable("SPIFFE_ENDPOINT_SOCKET", agent.Address);
/// </code>
/// </remarks>
public sealed class DevelopmentAgent : IAsyncDisposable
{
    private readonly DevelopmentAgentOptions _options;
    private readonly TimeSpan _rotationInterval;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly JwtBundle _jwtBundle;
    private Task? _rotating;
    private int _generation;

    private DevelopmentAgent(DevelopmentAgentOptions options, TrustDomain trustDomain, WorkloadApiServer server)
    {
        _options = options;
        TrustDomain = trustDomain;
        Server = server;
        _rotationInterval = options.RotationInterval ?? options.SvidTimeToLive / 2;
        CertificateAuthority = TestCertificateAuthority.Create(trustDomain, new TestCertificateAuthorityOptions { WithIntermediate = true });
        JwtAuthority = new TestJwtAuthority(trustDomain);
        JwtAuthority.AddKey("ES256", "dev-agent-1");
        _jwtBundle = JwtAuthority.CreateJwtBundle();
    }

    /// <summary>Raised after each issuance of X509-SVIDs (the first one included), on a background thread.</summary>
    public event EventHandler<DevelopmentAgentRotatedEventArgs>? Rotated;

    /// <summary>The trust domain.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The address to put in <c>SPIFFE_ENDPOINT_SOCKET</c>.</summary>
    public string Address => Server.Address;

    /// <summary>The underlying Workload API server, for fault injection in tests.</summary>
    public WorkloadApiServer Server { get; }

    /// <summary>The CA that signs the X509-SVIDs.</summary>
    public TestCertificateAuthority CertificateAuthority { get; }

    /// <summary>The key that signs the JWT-SVIDs.</summary>
    public TestJwtAuthority JwtAuthority { get; }

    /// <summary>How many times X509-SVIDs have been issued.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Starts the agent: it listens and serves the first SVIDs when this returns.</summary>
    /// <exception cref="ArgumentException">No trust domain, no ID, or an ID outside the trust domain.</exception>
    public static async Task<DevelopmentAgent> StartAsync(DevelopmentAgentOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        TrustDomain trustDomain = options.TrustDomain ?? throw new ArgumentException("A trust domain is required.", nameof(options));
        if (options.Ids.Count == 0)
        {
            throw new ArgumentException("At least one SPIFFE ID to issue is required.", nameof(options));
        }

        foreach (SpiffeId id in options.Ids)
        {
            if (!id.MemberOf(trustDomain) || id.IsTrustDomainId)
            {
                throw new ArgumentException($"{id} cannot be issued by trust domain {trustDomain}: an X509-SVID needs an ID with a path in that trust domain.", nameof(options));
            }
        }

        if (options.SvidTimeToLive < TimeSpan.FromSeconds(2) || (options.RotationInterval is { } r && (r <= TimeSpan.Zero || r >= options.SvidTimeToLive)))
        {
            throw new ArgumentException("The SVID lifetime must be at least 2 s and the rotation interval shorter than it.", nameof(options));
        }

        WorkloadApiServer server = await WorkloadApiServer.StartAsync(new WorkloadApiServerOptions { SocketPath = options.SocketPath, SocketFileMode = options.SocketFileMode }, cancellationToken).ConfigureAwait(false);
        var agent = new DevelopmentAgent(options, trustDomain, server);
        try
        {
            agent.ConfigureServer();
            agent.Rotate();
            agent._rotating = Task.Run(agent.RotateForeverAsync, CancellationToken.None);
            return agent;
        }
        catch
        {
            await agent.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Issues new X509-SVIDs for every ID now and pushes them to open streams.</summary>
    public void Rotate()
    {
        var messages = new List<WorkloadApiX509Svid>(_options.Ids.Count);
        var issued = new List<(SpiffeId, string, DateTimeOffset)>(_options.Ids.Count);
        byte[] bundle = CertificateAuthority.RootCertificate.RawData;
        int generation;
        lock (_gate)
        {
            foreach (SpiffeId id in _options.Ids)
            {
                TestX509SvidMaterial material = CertificateAuthority.CreateX509SvidMaterial(id, new TestX509SvidOptions { TimeToLive = _options.SvidTimeToLive });
                using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(material.LeafDer.Span);
                messages.Add(new WorkloadApiX509Svid(id.ToString(), material.ChainDer, material.PrivateKeyPkcs8, bundle));
                issued.Add((id, leaf.SerialNumber, new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero)));
            }

            Server.SetX509Svids(messages);
            generation = Interlocked.Increment(ref _generation);
        }

        Rotated?.Invoke(this, new DevelopmentAgentRotatedEventArgs(generation, issued));
    }

    private void ConfigureServer()
    {
        string trustDomainId = TrustDomain.Id.ToString();
        Server.SetX509Bundles(new Dictionary<string, byte[]> { [trustDomainId] = CertificateAuthority.RootCertificate.RawData });
        Server.SetJwtBundles(new Dictionary<string, byte[]> { [trustDomainId] = JwtAuthority.CreateJwks() });
        Server.SetJwtSvidMinter(request =>
        {
            IEnumerable<SpiffeId> ids = request.SpiffeId is { Length: > 0 } wanted
                ? _options.Ids.Where(id => id.ToString() == wanted)
                : _options.Ids;
            List<WorkloadApiJwtSvid> svids = [.. ids.Select(id => new WorkloadApiJwtSvid(id.ToString(), JwtAuthority.MintJwtSvid(id, request.Audiences, _options.JwtSvidTimeToLive)))];

            // Like SPIRE: asking for an identity this workload does not have is PermissionDenied, not an empty answer.
            return svids.Count > 0
                ? svids
                : throw new RpcException(new Status(StatusCode.PermissionDenied, $"no identity issued for {request.SpiffeId}"));
        });
        Server.SetJwtSvidValidator((token, audience) =>
        {
            JwtSvid svid = JwtSvid.ParseAndValidate(token, _jwtBundle, [audience]);
            var claims = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach ((string name, JsonElement value) in svid.Claims)
            {
                claims[name] = ToPlain(value);
            }

            return (svid.Id.ToString(), claims);
        });
    }

    private static object? ToPlain(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => value.EnumerateArray().Select(ToPlain).ToList(),
        JsonValueKind.Object => value.EnumerateObject().ToDictionary(p => p.Name, p => ToPlain(p.Value)),
        _ => null,
    };

    private async Task RotateForeverAsync()
    {
        using var timer = new PeriodicTimer(_rotationInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                Rotate();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    /// <summary>Stops rotating and serving; removes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_rotating is not null)
        {
            await _rotating.ConfigureAwait(false);
        }

        await Server.DisposeAsync().ConfigureAwait(false);
        CertificateAuthority.Dispose();
        JwtAuthority.Dispose();
        _stop.Dispose();
    }
}

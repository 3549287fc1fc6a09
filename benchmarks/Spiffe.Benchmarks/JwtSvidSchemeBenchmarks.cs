using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore.Authentication;
using Spiffe.Bundles;
using Spiffe.Testing;

namespace Spiffe.Benchmarks;

/// <summary>
/// The JWT-SVID bearer scheme (<c>AddSpiffeJwt</c>) end to end in process, through
/// <c>HttpContext.AuthenticateAsync</c> with a request scope per operation (what the authorization
/// middleware does): header parse, handler activation, validation, principal. First sight = the
/// cache turned off (every request verifies the signature), cached = the same token again.
/// Baseline: the bare signature check (split, base64url-decode, verify with a pre-imported key).
/// Targets: first sight ≤ 1.1x the baseline; cached ≤ 2 µs.
/// </summary>
[MemoryDiagnoser]
public class JwtSvidSchemeBenchmarks
{
    private const string NoCacheScheme = "SpiffeJwtNoCache";
    private TestJwtAuthority _authority = null!;
    private ServiceProvider _services = null!;
    private string _token = "";
    private string _header = "";
    private ECDsa? _ecdsa;
    private RSA? _rsa;
    private Spiffe.Jwt.JwtSvidValidator _validator = null!;

    /// <summary>The JWS algorithm of the token.</summary>
    [Params("ES256", "RS256")]
    public string Algorithm { get; set; } = "ES256";

    [GlobalSetup]
    public void Setup()
    {
        _authority = new TestJwtAuthority(TrustDomain.Parse("example.org"));
        string kid = _authority.AddKey(Algorithm, "key-1");
        _token = _authority.MintJwtSvid(SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web"), ["spiffe://example.org/api"], TimeSpan.FromHours(1));
        _header = "Bearer " + _token;
        JwtBundle bundle = _authority.CreateJwtBundle();
        bundle.TryGetJwtAuthority(kid, out JwtAuthority? authority);
        AsymmetricAlgorithm key = authority!.CreatePublicKey();
        _ecdsa = key as ECDsa;
        _rsa = key as RSA;

        _validator = new Spiffe.Jwt.JwtSvidValidator(bundle, ["spiffe://example.org/api"]);
        var services = new ServiceCollection();
        services.AddLogging(b => b.ClearProviders());
        services.AddAuthentication()
            .AddSpiffeJwt(o => { o.Audiences = ["spiffe://example.org/api"]; o.BundleSource = bundle; })
            .AddSpiffeJwt(NoCacheScheme, o => { o.Audiences = ["spiffe://example.org/api"]; o.BundleSource = bundle; o.CacheSize = 0; });
        _services = services.BuildServiceProvider();
        if (!RawSignatureVerification() || !SchemeFirstSight().GetAwaiter().GetResult() || !SchemeCached().GetAwaiter().GetResult())
        {
            throw new InvalidOperationException("The benchmark token does not authenticate.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        _authority.Dispose();
        _ecdsa?.Dispose();
        _rsa?.Dispose();
    }

    /// <summary>Only the signature check: the floor for any validator.</summary>
    [Benchmark(Baseline = true)]
    public bool RawSignatureVerification()
    {
        string token = _token;
        int lastDot = token.LastIndexOf('.');
        byte[] signature = Base64Url.DecodeFromChars(token.AsSpan(lastDot + 1));
        byte[] signingInput = Encoding.ASCII.GetBytes(token, 0, lastDot);
        return _ecdsa is not null
            ? _ecdsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            : _rsa!.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    [Benchmark]
    public bool ValidatorOnly() => _validator.Validate(_token).IsValid;

    /// <summary>The scheme with its cache off: every request pays the full validation.</summary>
    [Benchmark]
    public Task<bool> SchemeFirstSight() => AuthenticateAsync(NoCacheScheme);

    /// <summary>The scheme with the default cache, the same token every time.</summary>
    [Benchmark]
    public Task<bool> SchemeCached() => AuthenticateAsync(SpiffeAuthenticationDefaults.JwtScheme);

    private async Task<bool> AuthenticateAsync(string scheme)
    {
        await using AsyncServiceScope scope = _services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Headers.Authorization = _header;
        AuthenticateResult result = await context.AuthenticateAsync(scheme);
        return result.Succeeded;
    }
}

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.Benchmarks;

/// <summary>
/// Cost of validating a JWT-SVID relative to the bare signature check it cannot avoid.
/// Baseline: split the token, base64url-decode the signature, verify it over the ASCII signing
/// input with a pre-imported key. Target: the full SDK validation within 1.25x of that.
/// IdentityModelHandler is for reference only: Microsoft.IdentityModel's JsonWebTokenHandler with
/// the same key, audience and algorithm list, but without the SPIFFE-specific checks.
/// </summary>
[MemoryDiagnoser]
public class JwtSvidValidationBenchmarks
{
    private TestJwtAuthority? _authority;
    private string _token = "";
    private ECDsa? _ecdsa;
    private RSA? _rsa;
    private JwtSvidValidator? _validator;
    private readonly JsonWebTokenHandler _handler = new();
    private TokenValidationParameters? _parameters;
    private readonly string[] _audiences = ["spiffe://example.org/api"];

    /// <summary>The JWS algorithm of the token.</summary>
    [Params("ES256", "RS256")]
    public string Algorithm { get; set; } = "ES256";

    /// <summary>Mints one token and imports the key once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var trustDomain = TrustDomain.Parse("example.org");
        _authority = new TestJwtAuthority(trustDomain);
        string kid = _authority.AddKey(Algorithm, "key-1");
        _token = _authority.MintJwtSvid(SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web"), ["spiffe://example.org/api"], TimeSpan.FromHours(1));
        JwtBundle bundle = _authority.CreateJwtBundle();
        _validator = new JwtSvidValidator(bundle, ["spiffe://example.org/api"]);

        bundle.TryGetJwtAuthority(kid, out JwtAuthority? authority);
        AsymmetricAlgorithm key = authority!.CreatePublicKey();
        _ecdsa = key as ECDsa;
        _rsa = key as RSA;
        _parameters = new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidAudiences = ["spiffe://example.org/api"],
            IssuerSigningKey = _ecdsa is not null ? new ECDsaSecurityKey(_ecdsa) { KeyId = kid } : new RsaSecurityKey(_rsa!) { KeyId = kid },
            ValidAlgorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"],
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        };
        if (!RawSignatureVerification() || !SdkValidation() || !IdentityModelHandler())
        {
            throw new InvalidOperationException("The benchmark token does not validate.");
        }
    }

    /// <summary>Releases the keys.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _authority?.Dispose();
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

    /// <summary>Full SDK validation: structure, header, claims, bundle lookup, signature, audience, time.</summary>
    [Benchmark]
    public bool SdkValidation() => _validator!.Validate(_token).IsValid;

    /// <summary>The SDK's work besides the signature check (structure, header, claims, audience, time): the overhead on top of the baseline.</summary>
    [Benchmark]
    public bool SdkParseInsecure() => JwtSvid.ParseInsecure(_token, _audiences).Id is not null;

    /// <summary>Reference: Microsoft.IdentityModel's handler (no SPIFFE rules), run synchronously.</summary>
    [Benchmark]
    public bool IdentityModelHandler() => _handler.ValidateTokenAsync(_token, _parameters).GetAwaiter().GetResult().IsValid;
}

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Spiffe.Benchmarks;

[MemoryDiagnoser]
public class JwtSvidValidationBenchmarks
{
    private string _token = "";
    private ECDsa? _ec;
    private RSA? _rsa;
    private JsonWebTokenHandler _handler = new();
    private TokenValidationParameters _parameters = new();

    [Params("ES256", "RS256")]
    public string Algorithm { get; set; } = "ES256";

    [GlobalSetup]
    public void Setup()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Encode(Encoding.UTF8.GetBytes($"{{\"alg\":\"{Algorithm}\",\"kid\":\"k1\",\"typ\":\"JWT\"}}"));
        string payload = Encode(Encoding.UTF8.GetBytes($"{{\"sub\":\"spiffe://example.org/web\",\"aud\":[\"svc\"],\"exp\":{now + 3600},\"iat\":{now}}}"));
        byte[] input = Encoding.ASCII.GetBytes(header + "." + payload);
        byte[] sig;
        SecurityKey key;
        if (Algorithm == "ES256")
        {
            _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            sig = _ec.SignData(input, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            key = new ECDsaSecurityKey(ECDsa.Create(_ec.ExportParameters(false))) { KeyId = "k1" };
        }
        else
        {
            _rsa = RSA.Create(2048);
            sig = _rsa.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var pub = RSA.Create(); pub.ImportParameters(_rsa.ExportParameters(false));
            key = new RsaSecurityKey(pub) { KeyId = "k1" };
        }
        _token = header + "." + payload + "." + Encode(sig);
        _parameters = new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidAudiences = ["svc"],
            IssuerSigningKey = key,
            ValidAlgorithms = ["ES256", "RS256"],
            RequireExpirationTime = true,
        };
    }

    private static string Encode(byte[] b) => Base64Url.EncodeToString(b);

    [Benchmark(Baseline = true)]
    public bool RawSignatureVerification()
    {
        string t = _token;
        int last = t.LastIndexOf('.');
        byte[] sig = Base64Url.DecodeFromChars(t.AsSpan(last + 1));
        byte[] input = Encoding.ASCII.GetBytes(t.AsSpan(0, last).ToString());
        return _ec is not null
            ? _ec.VerifyData(input, sig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            : _rsa!.VerifyData(input, sig, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    [Benchmark]
    public bool IdentityModelHandler() => _handler.ValidateTokenAsync(_token, _parameters).GetAwaiter().GetResult().IsValid;
}

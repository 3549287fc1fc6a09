using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CsCheck;
using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.WorkloadApi;
using Spiffe.WorkloadApi.Internal;
using Spiffe.WorkloadApi.Protocol;
using Spiffe.X509;
using Xunit.Abstractions;

namespace Spiffe.Fuzz.Tests;

/// <summary>
/// Issue 8 §2: every parser, fed structure-aware mutations of the seed corpus, fails only with its
/// documented exception type; Try methods never throw; what Parse accepts serializes and parses
/// back. Bounded for CI (<see cref="DefaultIterations"/> inputs per parser, a few seconds in all);
/// <c>SPIFFE_FUZZ_SECONDS=N</c> runs each parser for N seconds instead (README.md).
/// A failure prints the shrunk input and the CsCheck seed that replays it.
/// </summary>
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    private const long DefaultIterations = 200;

    private static readonly string[] Audience = ["svc"];

    private static readonly IReadOnlyList<byte[]> JsonTokens = [.. new[]
    {
        "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\u0000", "\\\"", "\"", "{", "}", "[", "]", ",", ":", "null", "true", "1e999", "-0", "1.5",
        "\"kid\":", "\"use\":\"jwt-svid\",", "\"use\":\"x509-svid\",", "\"kty\":\"RSA\",", "\"kty\":\"EC\",", "\"crv\":\"P-384\",", "\"x5c\":[\"AAAA\"],",
        "\"keys\":[]", "\"spiffe_sequence\":", "\"sub\":", "\"aud\":", "\"exp\":", "\"nbf\":", "\"alg\":\"RS256\"", "\"alg\":\"none\"", "\"crit\":[]",
        "spiffe://example.org/", "spiffe://partner.org", "\"d\":\"AAAA\",",
    }.Select(Encoding.UTF8.GetBytes), [0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]];

    private static readonly IReadOnlyList<byte[]> DerTokens =
    [
        [0x30, 0x80], [0x30, 0x82, 0xFF, 0xFF], [0x30, 0x00], [0x03, 0x02, 0x07, 0x80], [0x04, 0x00], [0x05, 0x00], [0x06, 0x03, 0x55, 0x1D, 0x0F],
        [0x06, 0x03, 0x55, 0x1D, 0x11], [0x06, 0x05, 0x2B, 0x81, 0x04, 0x01, 0x23], [0x86, 0x00], [0x81, 0x01], [0x02, 0x01, 0x00], [0x01, 0x01, 0xFF],
        [0x17, 0x0D], [0x18, 0x0F], [0xA0, 0x03, 0x02, 0x01, 0x02], [0xA3, 0x00], [0xFF, 0xFF, 0xFF, 0xFF], [0x00],
    ];

    private static readonly IReadOnlyList<string> IdTokens =
        ["spiffe://", "/", "//", ".", "..", "%", "%2F", "A", "é", "\ud800", "\udc00", "\0", ":", "@", "?", "#", "-", "_", new string('a', 300), "xn--", " ", "\u0130"];

    private static readonly IReadOnlyList<string> TokenTokens = [".", "..", "=", "+", "/", "-", "_", "eyJ", "A", "{", "\u00e9", "\ud800"];

    private static readonly FakeTimeProvider Clock = new(Corpus.Now);

    [Fact]
    public void SpiffeId_Parse_ThrowsOnlyFormatException_TryParseAgreesAndNeverThrows() =>
        Run("SpiffeId", Mutator.Strings(Corpus.Lines("spiffe-id"), IdTokens), text =>
        {
            bool parsed = SpiffeId.TryParse(text, out SpiffeId? id);
            Assert.Equal(parsed, SpiffeId.TryParse(text.AsSpan(), out _));
            SpiffeId? strict = Documented<SpiffeId, FormatException>(() => SpiffeId.Parse(text));
            Assert.Equal(parsed, strict is not null);
            if (parsed)
            {
                Assert.Equal(text, id!.ToString());
                Assert.Equal(id, SpiffeId.Parse(id.ToString()));
            }
        });

    [Fact]
    public void TrustDomain_Parse_ThrowsOnlyFormatException_TryParseAgreesAndNeverThrows() =>
        Run("TrustDomain", Mutator.Strings([.. Corpus.Lines("trust-domain"), .. Corpus.Lines("spiffe-id")], IdTokens), text =>
        {
            bool parsed = TrustDomain.TryParse(text, out TrustDomain? trustDomain);
            Assert.Equal(parsed, TrustDomain.TryParse(text.AsSpan(), out _));
            Assert.Equal(parsed, Documented<TrustDomain, FormatException>(() => TrustDomain.Parse(text)) is not null);
            if (parsed)
            {
                Assert.Equal(trustDomain, TrustDomain.Parse(trustDomain!.Id.ToString()));
            }
        });

    [Fact]
    public void X509Svid_Parse_ThrowsOnlyX509SvidException()
    {
        IReadOnlyList<(byte[] Chain, byte[] Key)> svids = Corpus.Svids();
        Gen<(byte[] Chain, byte[] Key)> inputs = Gen.Frequency(
            (3, Gen.Select(Mutator.Bytes([.. svids.Select(s => s.Chain)], DerTokens), Gen.Int[0, svids.Count - 1], (chain, i) => (chain, svids[i].Key))),
            (2, Gen.Select(Gen.Int[0, svids.Count - 1], Mutator.Bytes([.. svids.Select(s => s.Key)], DerTokens), (i, key) => (svids[i].Chain, key))),
            (1, Gen.Select(Mutator.Bytes([.. svids.Select(s => s.Chain)], DerTokens), Mutator.Bytes([.. svids.Select(s => s.Key)], DerTokens))));
        Run("X509Svid.Parse", inputs, input =>
        {
            using X509Svid? svid = Documented<X509Svid, X509SvidException>(() => X509Svid.Parse(input.Chain, input.Key));
            if (svid is not null)
            {
                string certificates = svid.ToPem();
                string key = svid.ExportPrivateKeyPem();
                using X509Svid again = X509Svid.FromPem(certificates, key);
                Assert.Equal(svid.Id, again.Id);
            }
        }, print: i => $"chain {Convert.ToHexString(i.Chain)} key ({i.Key.Length} bytes) {Convert.ToHexString(i.Key)}");
    }

    [Fact]
    public void X509Svid_FromPem_ThrowsOnlyX509SvidException()
    {
        IReadOnlyList<(byte[] Chain, byte[] Key)> svids = Corpus.Svids();
        string[] pems = [.. svids.Select(s => PemEncoding.WriteString("CERTIFICATE", s.Chain) + "\n" + PemEncoding.WriteString("PRIVATE KEY", s.Key))];
        Run("X509Svid.FromPem", Mutator.Strings(pems, ["-----BEGIN ", "-----END ", "CERTIFICATE-----", "PRIVATE KEY-----", "EC PRIVATE KEY-----", "\n", "=", "A", "\ud800"]), text =>
        {
            int split = text.IndexOf("-----BEGIN PRIVATE", StringComparison.Ordinal);
            string certificates = split < 0 ? text : text[..split];
            string key = split < 0 ? text : text[split..];
            using X509Svid? svid = Documented<X509Svid, X509SvidException>(() => X509Svid.FromPem(certificates, key));
        });
    }

    [Fact]
    public void X509Bundle_FromDerAndFromPem_ThrowOnlyFormatException() =>
        Run("X509Bundle.FromDer/FromPem", Mutator.Bytes(Corpus.Bytes("x509-bundle"), DerTokens), der =>
        {
            using X509Bundle? bundle = Documented<X509Bundle, FormatException>(() => X509Bundle.FromDer(Corpus.Domain, der));
            if (bundle is not null)
            {
                using X509Bundle again = X509Bundle.FromPem(Corpus.Domain, bundle.ToPem());
                Assert.Equal(bundle.ToDer(), again.ToDer());
            }

            using X509Bundle? fromPem = Documented<X509Bundle, FormatException>(() => X509Bundle.FromPem(Corpus.Domain, Encoding.Latin1.GetString(der)));
        });

    [Fact]
    public void JwtBundle_Parse_ThrowsOnlyFormatException_AndWhatItAcceptsRoundTrips() =>
        Run("JwtBundle.Parse", Mutator.Bytes([.. Corpus.Bytes("jwt-bundle"), .. Corpus.Bytes("spiffe-bundle")], JsonTokens), json =>
        {
            JwtBundle? bundle = Documented<JwtBundle, FormatException>(() => JwtBundle.Parse(Corpus.Domain, json));
            if (bundle is not null)
            {
                JwtBundle again = JwtBundle.Parse(Corpus.Domain, bundle.ToJwks());
                Assert.Equal(bundle.JwtAuthorities.Select(a => a.KeyId), again.JwtAuthorities.Select(a => a.KeyId));
            }
        }, print: Printable);

    [Fact]
    public void SpiffeBundle_Parse_ThrowsOnlyFormatException_AndWhatItAcceptsRoundTrips() =>
        Run("SpiffeBundle.Parse", Mutator.Bytes([.. Corpus.Bytes("spiffe-bundle"), .. Corpus.Bytes("jwt-bundle")], JsonTokens), json =>
        {
            using SpiffeBundle? bundle = Documented<SpiffeBundle, FormatException>(() => SpiffeBundle.Parse(Corpus.Domain, json));
            if (bundle is not null)
            {
                using SpiffeBundle again = SpiffeBundle.Parse(Corpus.Domain, bundle.ToJson());
                Assert.Equal(bundle.X509Authorities.Select(c => c.RawData), again.X509Authorities.Select(c => c.RawData));
                Assert.Equal(bundle.JwtAuthorities.Select(a => a.KeyId), again.JwtAuthorities.Select(a => a.KeyId));
                Assert.Equal(bundle.Sequence, again.Sequence);
                Assert.Equal(bundle.RefreshHint, again.RefreshHint);
            }
        }, print: Printable);

    [Fact]
    public void JwtSvid_ParseInsecure_ThrowsOnlyJwtSvidException() =>
        Run("JwtSvid.ParseInsecure", Tokens(), token =>
            Documented<JwtSvid, JwtSvidException>(() => JwtSvid.ParseInsecure(token, Audience, Clock)));

    [Fact]
    public void JwtSvid_ParseAndValidateAndTryValidate_ThrowOnlyJwtSvidException()
    {
        JwtBundleSet bundles = new([JwtBundle.Parse(Corpus.Domain, File.ReadAllBytes(Path.Combine(Corpus.Directory, "jwt-bundle", "valid.json")))]);
        var validator = new JwtSvidValidator(bundles, Audience, Clock);
        Run("JwtSvid.ParseAndValidate/JwtSvidValidator.Validate", Tokens(), token =>
        {
            JwtSvid? strict = Documented<JwtSvid, JwtSvidException>(() => JwtSvid.ParseAndValidate(token, bundles, Audience, Clock));
            JwtSvidValidationResult result = validator.Validate(token);
            Assert.Equal(strict is not null, result.IsValid);
            Assert.True(result.IsValid
                ? result.Svid is not null && result.Error is null && result.ErrorKind == JwtSvidErrorKind.None
                : result.Svid is null && result.Error is not null && result.ErrorKind != JwtSvidErrorKind.None);
        });
    }

    [Fact]
    public void ResponseParser_X509Context_ThrowsOnlyWorkloadApiException()
    {
        ResponseParser parser = Parser();
        Run("ResponseParser.ParseX509Context", Messages<X509SVIDResponse>("x509svid-*.pb", X509SVIDResponse.Parser), message =>
        {
            using X509Context? context = Documented<X509Context, WorkloadApiException>(() => parser.ParseX509Context(message));
        }, print: m => m.ToString());
    }

    [Fact]
    public void ResponseParser_X509BundlesJwtBundlesJwtSvids_ThrowOnlyWorkloadApiException()
    {
        ResponseParser parser = Parser();
        Run("ResponseParser.ParseX509Bundles", Messages<X509BundlesResponse>("x509bundles-*.pb", X509BundlesResponse.Parser), message =>
        {
            X509BundleSet? set = Documented<X509BundleSet, WorkloadApiException>(() => parser.ParseX509Bundles(message));
            foreach (X509Bundle bundle in set ?? new X509BundleSet([]))
            {
                bundle.Dispose();
            }
        }, print: m => m.ToString());
        Run("ResponseParser.ParseJwtBundles", Messages<JWTBundlesResponse>("jwtbundles-*.pb", JWTBundlesResponse.Parser), message =>
            Documented<JwtBundleSet, WorkloadApiException>(() => parser.ParseJwtBundles(message)), print: m => m.ToString());
        Run("ResponseParser.ParseJwtSvids", Messages<JWTSVIDResponse>("jwtsvid-*.pb", JWTSVIDResponse.Parser), message =>
            Documented<IReadOnlyList<JwtSvid>, WorkloadApiException>(() => parser.ParseJwtSvids(message, Audience)), print: m => m.ToString());
    }

    [Fact]
    public void Corpus_Reproducers_FailWithTheirDocumentedTypes()
    {
        if (Environment.GetEnvironmentVariable("SPIFFE_FUZZ_WRITE_CORPUS") == "1")
        {
            Corpus.Write();
        }

        // Every parser has seeds, and every reproducer of issue 8 is in the corpus and fails as documented.
        foreach ((string chain, string key) in Corpus.Files("x509-svid", "reproducer-*.chain.der").Select(f => (f, f.Replace(".chain.der", ".key.der", StringComparison.Ordinal))))
        {
            Assert.Throws<X509SvidException>(() => X509Svid.Parse(File.ReadAllBytes(chain), File.ReadAllBytes(key)));
        }

        Assert.All(Corpus.Bytes("jwt-bundle", "reproducer-*"), json => Assert.Throws<FormatException>(() => JwtBundle.Parse(Corpus.Domain, json)));
        Assert.All(Corpus.Bytes("spiffe-bundle", "reproducer-*"), json => Assert.Throws<FormatException>(() => SpiffeBundle.Parse(Corpus.Domain, json)));
        Assert.All(Corpus.Files("jwt-svid", "reproducer-*"), f => Assert.Throws<JwtSvidException>(() => JwtSvid.ParseInsecure(File.ReadAllText(f), Audience, Clock)));
        ResponseParser parser = Parser();
        Assert.All(Corpus.Bytes("workload-api", "x509svid-reproducer-*"), b => Assert.Throws<WorkloadApiException>(() => parser.ParseX509Context(X509SVIDResponse.Parser.ParseFrom(b))));
        Assert.All(Corpus.Bytes("workload-api", "x509bundles-reproducer-*"), b => Assert.Throws<WorkloadApiException>(() => parser.ParseX509Bundles(X509BundlesResponse.Parser.ParseFrom(b))));
        Assert.All(Corpus.Bytes("workload-api", "jwtbundles-reproducer-*"), b => Assert.Throws<WorkloadApiException>(() => parser.ParseJwtBundles(JWTBundlesResponse.Parser.ParseFrom(b))));
        Assert.Equal(4, Corpus.Files("x509-svid", "reproducer-*").Count);
        Assert.Equal(3, Corpus.Files("jwt-bundle", "reproducer-*").Count);
        Assert.Equal(3, Corpus.Files("jwt-svid", "reproducer-*").Count);
        Assert.Equal(2, Corpus.Files("spiffe-bundle", "reproducer-*").Count);

        // …and the valid seeds are valid, so mutations start from inputs that reach deep.
        using X509Context context = parser.ParseX509Context(X509SVIDResponse.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(Corpus.Directory, "workload-api", "x509svid-valid.pb"))));
        Assert.Equal(2, context.Bundles.Count);
        Assert.All(Corpus.Files("jwt-svid", "valid-*"), f => JwtSvid.ParseAndValidate(File.ReadAllText(f), new JwtBundleSet([JwtBundle.Parse(Corpus.Domain, File.ReadAllBytes(Path.Combine(Corpus.Directory, "jwt-bundle", "valid.json")))]), Audience, Clock));
    }

    private static ResponseParser Parser() => new(WorkloadApiAddress.Parse("unix:///tmp/fuzz.sock"), Clock);

    /// <summary>Tokens: char-level mutations of the seeds, and seeds whose decoded header or claims are mutated as JSON bytes and then properly signed (so the checks after the signature are reached).</summary>
    private static Gen<string> Tokens()
    {
        IReadOnlyList<string> seeds = [.. Corpus.Files("jwt-svid", "*.txt").Select(File.ReadAllText)];
        byte[][] headers = [.. seeds.Select(t => System.Buffers.Text.Base64Url.DecodeFromChars(t.AsSpan(0, t.IndexOf('.'))))];
        byte[][] payloads = [.. seeds.Select(t => System.Buffers.Text.Base64Url.DecodeFromChars(t.Split('.')[1]))];
        ECDsa key = Corpus.SigningKey();
        return Gen.Frequency(
            (1, Mutator.Strings(seeds, TokenTokens)),
            (2, Gen.Select(Gen.Int[0, headers.Length - 1], Mutator.Bytes(payloads, JsonTokens), (h, payload) => Corpus.Sign(key, headers[h], payload))),
            (1, Gen.Select(Mutator.Bytes(headers, JsonTokens), Gen.Int[0, payloads.Length - 1], (header, p) => Corpus.Sign(key, header, payloads[p]))));
    }

    /// <summary>Workload API messages: seeds with one field (or map key) mutated structure-aware, or the encoded message mutated and re-decoded.</summary>
    private static Gen<T> Messages<T>(string pattern, MessageParser<T> messageParser)
        where T : IMessage<T>
    {
        IReadOnlyList<byte[]> seeds = Corpus.Bytes("workload-api", pattern);
        IReadOnlyList<byte[]> der = [.. Corpus.Bytes("x509-bundle"), .. Corpus.Svids().SelectMany(s => new[] { s.Chain, s.Key })];
        IReadOnlyList<string> keys = ["spiffe://example.org", "example.org", "spiffe://partner.org", "partner.org", "spiffe://example.org/web", "", "spiffe://EXAMPLE.org"];
        Gen<T> byField = Gen.Select(Gen.Int[0, seeds.Count - 1], Gen.Int[0, 7], Mutator.Bytes(der, DerTokens), Mutator.Bytes(Corpus.Bytes("jwt-bundle"), JsonTokens), Mutator.Strings(keys, IdTokens), (s, field, bytes, json, text) =>
        {
            T message = messageParser.ParseFrom(seeds[s]);
            switch (message)
            {
                case X509SVIDResponse x when x.Svids.Count > 0:
                    X509SVID svid = x.Svids[field % x.Svids.Count];
                    switch (field)
                    {
                        case 0 or 1: svid.X509Svid = ByteString.CopyFrom(bytes); break;
                        case 2: svid.X509SvidKey = ByteString.CopyFrom(bytes); break;
                        case 3: svid.Bundle = ByteString.CopyFrom(bytes); break;
                        case 4: svid.SpiffeId = text; break;
                        case 5: svid.Hint = text; break;
                        case 6: x.FederatedBundles[text] = ByteString.CopyFrom(bytes); break;
                        default: x.Svids.Add(svid.Clone()); break;
                    }

                    break;
                case X509BundlesResponse b:
                    b.Bundles[field < 4 ? text : keys[field % keys.Count]] = ByteString.CopyFrom(bytes);
                    break;
                case JWTBundlesResponse j:
                    j.Bundles[field < 4 ? text : keys[field % keys.Count]] = ByteString.CopyFrom(json);
                    break;
                case JWTSVIDResponse t when t.Svids.Count > 0:
                    if (field < 4)
                    {
                        t.Svids[0].SpiffeId = text;
                    }
                    else
                    {
                        t.Svids[0].Svid = Encoding.UTF8.GetString(json);
                    }

                    break;
            }

            return message;
        });
        Gen<T> byBytes = Mutator.Bytes(seeds, DerTokens).Select(bytes =>
        {
            try
            {
                return messageParser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
                return messageParser.ParseFrom(seeds[0]); // decoding protobuf is gRPC's job, not the SDK's
            }
        });
        return Gen.Frequency((3, byField), (1, byBytes));
    }

    /// <summary>Runs <paramref name="operation"/>; its documented exception is a result (null), any other fails the property.</summary>
    private static TResult? Documented<TResult, TException>(Func<TResult> operation)
        where TException : Exception
        where TResult : class
    {
        try
        {
            return operation();
        }
        catch (TException)
        {
            return null;
        }
    }

    private static string Printable(byte[] bytes) => Convert.ToHexString(bytes) + " (" + Encoding.UTF8.GetString(bytes) + ")";

    private void Run<T>(string name, Gen<T> inputs, Action<T> property, Func<T, string>? print = null)
    {
        string? seconds = Environment.GetEnvironmentVariable("SPIFFE_FUZZ_SECONDS");
        string? iterations = Environment.GetEnvironmentVariable("SPIFFE_FUZZ_ITERATIONS");
        long count = 0;
        var watch = Stopwatch.StartNew();
        inputs.Sample(
            input =>
            {
                Interlocked.Increment(ref count);
                property(input);
            },
            iter: iterations is null ? DefaultIterations : long.Parse(iterations, CultureInfo.InvariantCulture),
            time: seconds is null ? -1 : int.Parse(seconds, CultureInfo.InvariantCulture),
            threads: seconds is null ? 1 : -1,
            print: print);
        output.WriteLine($"[fuzz] {name}: {count} inputs in {watch.Elapsed.TotalSeconds:0.0} s, no undocumented exception");
    }
}

using Spiffe.Files;
using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests.Files;

public sealed class FileJwtBundleSourceTests : IDisposable
{
    private static readonly TrustDomain s_trustDomain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId s_caller = SpiffeId.Parse("spiffe://example.org/caller");
    private readonly SvidFiles _files = new();
    private readonly RecordingLoggerFactory _log = new();

    public void Dispose() => _files.Dispose();

    private FileJwtBundleSourceOptions Options(string name) => new()
    {
        TrustDomain = "example.org",
        Path = _files.PathOf(name),
        WatchForChanges = false,
        PollInterval = Timeout.InfiniteTimeSpan,
        StartTimeout = TimeSpan.FromSeconds(5),
        LoggerFactory = _log,
    };

    [Fact]
    public async Task CreateAsync_WorkloadApiJwks_ValidatesTokensOfItsKeys()
    {
        using var authority = new TestJwtAuthority(s_trustDomain);
        authority.AddKey("ES256", "k1", use: null);
        File.WriteAllBytes(_files.PathOf("jwt_bundle.json"), authority.CreateJwks());

        await using FileJwtBundleSource source = await FileJwtBundleSource.CreateAsync(Options("jwt_bundle.json"));
        JwtSvid svid = JwtSvid.ParseAndValidate(authority.MintJwtSvid(s_caller, ["svc"]), source, ["svc"]);

        Assert.Equal(s_caller, svid.Id);
        Assert.Null(source.GetJwtBundle(TrustDomain.Parse("other.org")));
    }

    [Fact]
    public async Task CreateAsync_SpiffeBundleDocument_OnlyJwtSvidKeysVerify()
    {
        using TestCertificateAuthority ca = TestCertificateAuthority.Create(s_trustDomain);
        using var authority = new TestJwtAuthority(s_trustDomain);
        authority.AddKey("ES256", "k1");
        File.WriteAllText(_files.PathOf("bundle.json"), FileX509SourceTests.SpiffeBundleJson(ca, authority, sequence: 3));

        await using FileJwtBundleSource source = await FileJwtBundleSource.CreateAsync(Options("bundle.json"));

        Assert.Equal("k1", Assert.Single(source.GetJwtBundle(s_trustDomain)!.JwtAuthorities).KeyId);
    }

    [Fact]
    public async Task Reload_GarbageThenValid_KeepsLastGoodThenSwitches()
    {
        using var authority = new TestJwtAuthority(s_trustDomain);
        authority.AddKey("ES256", "k1");
        File.WriteAllBytes(_files.PathOf("jwt_bundle.json"), authority.CreateJwks());
        await using FileJwtBundleSource source = await FileJwtBundleSource.CreateAsync(Options("jwt_bundle.json"));

        File.WriteAllText(_files.PathOf("jwt_bundle.json"), "{\"keys\":[{\"kty\":\"EC\"");
        Assert.False(await source.ReloadAsync());
        Assert.True(source.GetJwtBundle(s_trustDomain)!.TryGetJwtAuthority("k1", out _));
        Assert.True(_log.Contains(201, "is not a JWK Set or SPIFFE bundle"));

        authority.AddKey("ES256", "k2");
        File.WriteAllBytes(_files.PathOf("jwt_bundle.json"), authority.CreateJwks());
        Assert.True(await source.ReloadAsync());
        Assert.True(source.GetJwtBundle(s_trustDomain)!.TryGetJwtAuthority("k2", out _));
    }

    [Fact]
    public async Task CreateAsync_InvalidTrustDomain_ThrowsArgumentException()
    {
        FileJwtBundleSourceOptions options = Options("x.json");
        options.TrustDomain = "Not A Domain";

        await Assert.ThrowsAsync<ArgumentException>(() => FileJwtBundleSource.CreateAsync(options));
    }
}

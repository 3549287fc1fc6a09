using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Bundles;
using Spiffe.Core.Tests.Tls;
using Spiffe.Files;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Tests.Files;

public sealed class FileX509SourceTests : IDisposable
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);
    private readonly SvidFiles _files = new();
    private readonly RecordingLoggerFactory _log = new();

    public void Dispose() => _files.Dispose();

    private FileX509SourceOptions Options(bool watch = true, TimeSpan? poll = null) => new()
    {
        Directory = _files.Directory,
        WatchForChanges = watch,
        PollInterval = poll ?? Timeout.InfiniteTimeSpan,
        Debounce = TimeSpan.FromMilliseconds(50),
        StartTimeout = TimeSpan.FromSeconds(5),
        LoggerFactory = _log,
    };

    [Fact]
    public async Task CreateAsync_CsiDriverFiles_ServesSvidAndOwnBundle()
    {
        string serial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options());

        Assert.Equal(serial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.Equal(SvidFiles.WorkloadId, source.GetX509Svid().Id);
        Assert.True(source.GetX509Svid().Certificate.HasPrivateKey);
        X509Bundle bundle = Assert.Single(source.GetX509BundleSet());
        Assert.Equal(SvidFiles.TrustDomain, bundle.TrustDomain);
        Assert.True(bundle.Contains(_files.Authority.RootCertificate));
        Assert.Same(source.GetX509BundleSet(), source.GetX509BundleSet());
    }

    [Fact]
    public async Task CreateAsync_SpiffeHelperLayout_ReadsSvidPemNames()
    {
        (string serial, string certificates, string key) = _files.NewSvid();
        File.WriteAllText(_files.PathOf("svid.pem"), certificates);
        File.WriteAllText(_files.PathOf("svid_key.pem"), key);
        File.WriteAllText(_files.PathOf("svid_bundle.pem"), _files.BundlePem);
        FileX509SourceOptions options = Options();
        options.Layout = FileSvidLayout.SpiffeHelper;

        await using FileX509Source source = await FileX509Source.CreateAsync(options);

        Assert.Equal(serial, source.GetX509Svid().Certificate.SerialNumber);
    }

    [Fact]
    public async Task CreateAsync_ConfiguredFileNames_UsesThem()
    {
        (string serial, string certificates, string key) = _files.NewSvid();
        File.WriteAllText(_files.PathOf("cert.pem"), certificates);
        File.WriteAllText(_files.PathOf("key.pem"), key);
        File.WriteAllText(_files.PathOf("roots.pem"), _files.BundlePem);
        FileX509SourceOptions options = Options();
        options.CertificateFileName = "cert.pem";
        options.PrivateKeyFileName = "key.pem";
        options.BundleFileName = "roots.pem";

        await using FileX509Source source = await FileX509Source.CreateAsync(options);

        Assert.Equal(serial, source.GetX509Svid().Certificate.SerialNumber);
    }

    [Fact]
    public async Task CreateAsync_NoValidSet_ThrowsWithTheReason()
    {
        (_, string certificates, _) = _files.NewSvid();
        (_, _, string otherKey) = _files.NewSvid();
        File.WriteAllText(_files.PathOf("tls.crt"), certificates);
        File.WriteAllText(_files.PathOf("tls.key"), otherKey);
        File.WriteAllText(_files.PathOf("ca.crt"), _files.BundlePem);
        FileX509SourceOptions options = Options();
        options.StartTimeout = TimeSpan.FromMilliseconds(300);

        SpiffeException e = await Assert.ThrowsAsync<SpiffeException>(() => FileX509Source.CreateAsync(options));

        Assert.Contains("does not match", e.Message);
    }

    [Fact]
    public async Task CreateAsync_NoDirectory_ThrowsArgumentException()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => FileX509Source.CreateAsync(new FileX509SourceOptions()));
    }

    [Fact]
    public async Task Watch_RotationByRename_NewSetServedWithoutPolling()
    {
        _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: true));
        var served = new ConcurrentQueue<string>();
        source.Updated += (_, _) => served.Enqueue(source.GetX509Svid().Certificate.SerialNumber);
        Task updated = source.WaitForUpdateAsync();

        // Each file is written next to its final name and renamed over it (what editors and atomic writers do).
        (string serial, string certificates, string key) = _files.NewSvid();
        RenameInto("tls.key", key);
        RenameInto("tls.crt", certificates);
        await updated.WaitAsync(s_wait);

        Assert.Equal(serial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.All(served, s => Assert.Equal(serial, s));
    }

    [Fact]
    public async Task Watch_KubernetesDataSymlinkSwap_NewSetServedWithoutPolling()
    {
        // The layout of a Kubernetes atomic writer (secret, projected and CSI volumes): a
        // timestamped directory, ..data pointing to it, and per-file links through ..data.
        string first = WriteDataDirectory("..2026_12_04_17_00_00.000000001", out string firstSerial);
        File.CreateSymbolicLink(_files.PathOf("..data"), first);
        foreach (string name in new[] { "tls.crt", "tls.key", "ca.crt" })
        {
            File.CreateSymbolicLink(_files.PathOf(name), Path.Combine("..data", name));
        }

        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: true));
        Assert.Equal(firstSerial, source.GetX509Svid().Certificate.SerialNumber);
        Task updated = source.WaitForUpdateAsync();

        string second = WriteDataDirectory("..2026_12_04_17_30_00.000000002", out string secondSerial);
        File.CreateSymbolicLink(_files.PathOf("..data_tmp"), second);

        // rename(2) of the link itself, atomic, as the Kubernetes atomic writer does (File.Move would follow the link).
        Assert.Equal(0, Rename(_files.PathOf("..data_tmp"), _files.PathOf("..data")));
        Directory.Delete(_files.PathOf(first), recursive: true);
        await updated.WaitAsync(s_wait);

        Assert.Equal(secondSerial, source.GetX509Svid().Certificate.SerialNumber);
    }

    [Fact]
    public async Task Reload_InPlaceRewriteInTwoSteps_TornSetNeverServed()
    {
        string oldSerial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: true));
        var served = new ConcurrentQueue<string>();
        source.Updated += (_, _) => served.Enqueue(source.GetX509Svid().Certificate.SerialNumber);

        // Step 1: the new certificate, with the old key still in place.
        (string newSerial, string certificates, string key) = _files.NewSvid();
        File.WriteAllText(_files.PathOf("tls.crt"), certificates);

        Assert.False(await source.ReloadAsync());
        Assert.Equal(oldSerial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.True(_log.Contains(201, "does not match the public key"), "the rejection names the reason");

        // Step 2: the key; the watcher picks the finished set up.
        Task updated = source.WaitForUpdateAsync();
        File.WriteAllText(_files.PathOf("tls.key"), key);
        await updated.WaitAsync(s_wait);

        Assert.Equal(newSerial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.Equal([newSerial], served.Distinct());
    }

    [Fact]
    public async Task Reload_HalfWrittenCertificate_KeepsLastGoodThenTakesFinishedFile()
    {
        string oldSerial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: false));
        (string newSerial, string certificates, string key) = _files.NewSvid();
        File.WriteAllText(_files.PathOf("tls.key"), key);
        File.WriteAllText(_files.PathOf("tls.crt"), certificates[..(certificates.Length / 2)]);

        Assert.False(await source.ReloadAsync());
        Assert.Equal(oldSerial, source.GetX509Svid().Certificate.SerialNumber);

        File.WriteAllText(_files.PathOf("tls.crt"), certificates);
        Assert.True(await source.ReloadAsync());
        Assert.Equal(newSerial, source.GetX509Svid().Certificate.SerialNumber);
    }

    [Fact]
    public async Task Reload_WrongKey_KeepsLastGoodAndLogsWhy()
    {
        string oldSerial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: false));
        (_, string certificates, _) = _files.NewSvid();
        (_, _, string otherKey) = _files.NewSvid();
        File.WriteAllText(_files.PathOf("tls.crt"), certificates);
        File.WriteAllText(_files.PathOf("tls.key"), otherKey);

        Assert.False(await source.ReloadAsync());
        Assert.False(await source.ReloadAsync());

        Assert.Equal(oldSerial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.Single(_log.Entries, e => e.EventId == 201 && e.Message.Contains("does not match the public key", StringComparison.Ordinal));
        Assert.Contains(_log.Entries, e => e.EventId == 202);
        Assert.DoesNotContain(_log.Entries, e => e.Message.Contains("PRIVATE KEY-----", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reload_DeletedKeyFile_KeepsLastGoodUntilRestored()
    {
        string oldSerial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: false));
        File.Delete(_files.PathOf("tls.key"));

        Assert.False(await source.ReloadAsync());
        Assert.Equal(oldSerial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.True(_log.Contains(201, "tls.key does not exist"));

        string newSerial = _files.WriteCsiSet();
        Assert.True(await source.ReloadAsync());
        Assert.Equal(newSerial, source.GetX509Svid().Certificate.SerialNumber);
    }

    [Fact]
    public async Task Reload_ExpiredLeaf_KeepsLastGood()
    {
        string oldSerial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        _files.WriteCsiSet(new TestX509SvidOptions { NotBefore = now.AddHours(-2), NotAfter = now.AddMinutes(-1) });

        Assert.False(await source.ReloadAsync());

        Assert.Equal(oldSerial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.True(_log.Contains(201, "does not validate against"));
    }

    [Fact]
    public async Task Reload_ChainOutsideBundle_KeepsLastGood()
    {
        string oldSerial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: false));

        // Same trust domain name, another CA: the bundle file does not vouch for it.
        using TestCertificateAuthority stranger = TestCertificateAuthority.Create(SvidFiles.TrustDomain);
        (_, string certificates, string key) = _files.NewSvid(authority: stranger);
        File.WriteAllText(_files.PathOf("tls.crt"), certificates);
        File.WriteAllText(_files.PathOf("tls.key"), key);

        Assert.False(await source.ReloadAsync());

        Assert.Equal(oldSerial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.True(_log.Contains(201, "does not validate against"));
    }

    [Fact]
    public async Task Reload_KeyPathUnreadable_KeepsLastGoodAndSaysCannotBeRead()
    {
        string oldSerial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: false));

        // A directory where the key should be: unreadable as a file for every user, root included.
        File.Delete(_files.PathOf("tls.key"));
        Directory.CreateDirectory(_files.PathOf("tls.key"));

        Assert.False(await source.ReloadAsync());
        Assert.Equal(oldSerial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.True(_log.Contains(201, "cannot be read"));
    }

    [Fact]
    public async Task Reload_KeyFileMode000_KeptUnlessTheProcessMayBypassPermissions()
    {
        _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: false));
        string newSerial = _files.WriteCsiSet();
        File.SetUnixFileMode(_files.PathOf("tls.key"), UnixFileMode.None);

        bool switched = await source.ReloadAsync();

        // root (CAP_DAC_OVERRIDE), as in this CI container, reads a mode-000 file; anyone else cannot.
        if (Environment.IsPrivilegedProcess)
        {
            Assert.True(switched);
            Assert.Equal(newSerial, source.GetX509Svid().Certificate.SerialNumber);
        }
        else
        {
            Assert.False(switched);
            Assert.True(_log.Contains(201, "cannot be read"));
        }
    }

    [Fact]
    public async Task Poll_WithoutWatcher_PicksUpChangeAfterInterval()
    {
        _files.WriteCsiSet();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        FileX509SourceOptions options = Options(watch: false, poll: TimeSpan.FromSeconds(10));
        options.TimeProvider = time;
        await using FileX509Source source = await FileX509Source.CreateAsync(options);
        string newSerial = _files.WriteCsiSet();
        Task updated = source.WaitForUpdateAsync();

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(updated.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await updated.WaitAsync(s_wait);

        Assert.Equal(newSerial, source.GetX509Svid().Certificate.SerialNumber);
    }

    [Fact]
    public async Task FederatedDirectory_PemAndJsonFiles_EachBoundToItsTrustDomain()
    {
        _files.WriteCsiSet();
        string federated = _files.PathOf("federated");
        Directory.CreateDirectory(federated);
        using TestCertificateAuthority partnerA = TestCertificateAuthority.Create(TrustDomain.Parse("partner-a.org"));
        using TestCertificateAuthority partnerB = TestCertificateAuthority.Create(TrustDomain.Parse("partner-b.org"));
        using var jwtAuthority = new TestJwtAuthority(partnerB.TrustDomain);
        jwtAuthority.AddKey("ES256", "kb");
        File.WriteAllText(Path.Combine(federated, "partner-a.org.pem"), partnerA.RootCertificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(federated, "partner-b.org.json"), SpiffeBundleJson(partnerB, jwtAuthority));
        File.WriteAllText(Path.Combine(federated, "example.org.pem"), partnerA.RootCertificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(federated, "README.txt"), "not a bundle");
        FileX509SourceOptions options = Options(watch: false);
        options.FederatedBundlesDirectory = federated;

        await using FileX509Source source = await FileX509Source.CreateAsync(options);

        Assert.Equal(3, source.GetX509BundleSet().Count);
        Assert.True(source.GetX509Bundle(partnerA.TrustDomain)!.Contains(partnerA.RootCertificate));
        Assert.True(source.GetX509Bundle(partnerB.TrustDomain)!.Contains(partnerB.RootCertificate));
        Assert.True(source.GetJwtBundle(partnerB.TrustDomain)!.TryGetJwtAuthority("kb", out _));
        Assert.Null(source.GetJwtBundle(partnerA.TrustDomain));

        // The own trust domain's bundle is the bundle file's, never the federated directory's.
        Assert.False(source.GetX509Bundle(SvidFiles.TrustDomain)!.Contains(partnerA.RootCertificate));
        Assert.True(_log.Contains(201, "own trust domain"));
    }

    [Fact]
    public async Task FederatedDirectory_BadRewriteKeepsLastGood_RemovalDropsTrustDomain()
    {
        _files.WriteCsiSet();
        string federated = _files.PathOf("federated");
        Directory.CreateDirectory(federated);
        using TestCertificateAuthority partner = TestCertificateAuthority.Create(TrustDomain.Parse("partner.org"));
        string file = Path.Combine(federated, "partner.org.pem");
        File.WriteAllText(file, partner.RootCertificate.ExportCertificatePem());
        FileX509SourceOptions options = Options(watch: false);
        options.FederatedBundlesDirectory = federated;
        await using FileX509Source source = await FileX509Source.CreateAsync(options);
        X509Bundle first = source.GetX509Bundle(partner.TrustDomain)!;

        File.WriteAllText(file, "-----BEGIN CERTIFICATE-----\nMIIB");
        Assert.False(await source.ReloadAsync());
        Assert.Same(first, source.GetX509Bundle(partner.TrustDomain));
        Assert.True(_log.Contains(201, "last good bundle stays"));

        File.Delete(file);
        Assert.True(await source.ReloadAsync());
        Assert.Null(source.GetX509Bundle(partner.TrustDomain));
        Assert.Single(source.GetX509BundleSet());
    }

    [Fact]
    public async Task Tls_FileSourceOnBothSides_MutualTlsAndRotationApplyToNextHandshake()
    {
        string firstSerial = _files.WriteCsiSet();
        await using FileX509Source source = await FileX509Source.CreateAsync(Options(watch: false));
        SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.Exact(SvidFiles.WorkloadId);

        TlsOutcome first = await TlsLoopback.ConnectAsync(SpiffeTlsServer.MutualTls(source, source, authorizer), SpiffeTlsClient.MutualTls(source, source, authorizer));
        string secondSerial = _files.WriteCsiSet();
        Assert.True(await source.ReloadAsync());
        TlsOutcome second = await TlsLoopback.ConnectAsync(SpiffeTlsServer.MutualTls(source, source, authorizer), SpiffeTlsClient.MutualTls(source, source, authorizer));

        Assert.True(first.Succeeded, first.ToString());
        Assert.Equal(firstSerial, first.Client.PeerSerial);
        Assert.True(second.Succeeded, second.ToString());
        Assert.Equal(secondSerial, second.Client.PeerSerial);
    }

    [Fact]
    public async Task GetX509Svid_DisposedByCallerThenRotatedAndSourceDisposed_HandedOutObjectsStayUsable()
    {
        _files.WriteCsiSet();
        FileX509Source source = await FileX509Source.CreateAsync(Options(watch: true));
        X509Svid first = source.GetX509Svid();
        X509Bundle firstBundle = source.GetX509BundleSet().GetX509Bundle(SvidFiles.TrustDomain)!;
        Assert.True(first.IsOwnedBySource);
        Assert.True(firstBundle.IsOwnedBySource);
        using (source.GetX509Svid())
        {
            // A caller's `using` on a source-owned SVID: disposing it does nothing.
        }

        Task updated = source.WaitForUpdateAsync();
        (string serial, string certificates, string key) = _files.NewSvid();
        RenameInto("tls.key", key);
        RenameInto("tls.crt", certificates);
        await updated.WaitAsync(s_wait);
        Assert.Equal(serial, source.GetX509Svid().Certificate.SerialNumber);
        Task second = source.WaitForUpdateAsync();
        (string laterSerial, string laterCertificates, string laterKey) = _files.NewSvid();
        RenameInto("tls.key", laterKey);
        RenameInto("tls.crt", laterCertificates);
        await second.WaitAsync(s_wait);
        Assert.Equal(laterSerial, source.GetX509Svid().Certificate.SerialNumber);
        await source.DisposeAsync();

        // Two reloads and the source's disposal later, what it handed out is still readable and usable.
        Assert.NotEmpty(first.Certificate.SerialNumber);
        Assert.NotNull(first.ExportPrivateKeyPem());
        Assert.Equal(first.Certificate.Thumbprint, first.Copy().Certificate.Thumbprint);
        Assert.NotEmpty(firstBundle.X509Authorities[0].Thumbprint);
    }

    [Fact]
    public async Task DisposeAsync_ThenGetX509Svid_Throws()
    {
        _files.WriteCsiSet();
        FileX509Source source = await FileX509Source.CreateAsync(Options());
        await source.DisposeAsync();
        await source.DisposeAsync();

        Assert.Throws<SpiffeException>(() => source.GetX509Svid());
        Assert.Empty(source.GetX509BundleSet());
    }

    private static int Rename(string oldPath, string newPath) =>
        RenameBytes(Encoding.UTF8.GetBytes(oldPath + "\0"), Encoding.UTF8.GetBytes(newPath + "\0"));

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int RenameBytes(byte[] oldPath, byte[] newPath);

    private void RenameInto(string name, string content)
    {
        string temporary = _files.PathOf("." + name + ".tmp");
        File.WriteAllText(temporary, content, Encoding.ASCII);
        File.Move(temporary, _files.PathOf(name), overwrite: true);
    }

    private string WriteDataDirectory(string name, out string serial)
    {
        string directory = _files.PathOf(name);
        Directory.CreateDirectory(directory);
        (serial, string certificates, string key) = _files.NewSvid();
        File.WriteAllText(Path.Combine(directory, "tls.crt"), certificates);
        File.WriteAllText(Path.Combine(directory, "tls.key"), key);
        File.WriteAllText(Path.Combine(directory, "ca.crt"), _files.BundlePem);
        return name;
    }

    internal static string SpiffeBundleJson(TestCertificateAuthority authority, TestJwtAuthority jwt, long? sequence = null)
    {
        using X509Bundle x509 = authority.CreateX509Bundle();
        JwtBundle jwtBundle = jwt.CreateJwtBundle();
        using var bundle = new SpiffeBundle(authority.TrustDomain, [System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(x509.X509Authorities[0].RawDataMemory.Span)], jwtBundle.JwtAuthorities, sequence);
        return bundle.ToJson();
    }
}

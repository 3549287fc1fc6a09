using System.Text;
using Spiffe.Files;

namespace Spiffe.WorkloadApi.Tests.Files;

/// <summary>
/// <see cref="FileX509Source.Create"/> + <see cref="FileX509Source.WaitUntilReadyAsync"/> (a source handed
/// out before its files are valid, as <c>AddSpiffe()</c> does) and the status a health check reads.
/// </summary>
public sealed class FileX509SourceStartTests : IDisposable
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);
    private readonly SvidFiles _files = new();

    public void Dispose() => _files.Dispose();

    private FileX509SourceOptions Options() => new()
    {
        Directory = _files.Directory,
        PollInterval = Timeout.InfiniteTimeSpan,
        Debounce = TimeSpan.FromMilliseconds(50),
    };

    [Fact]
    public async Task Create_NoFilesYet_ThrowsNotYetWithReasonThenServesOnceWritten()
    {
        await using FileX509Source source = FileX509Source.Create(Options());

        SpiffeException timedOut = await Assert.ThrowsAsync<SpiffeException>(() => source.WaitUntilReadyAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Contains("No valid files", timedOut.Message);
        SpiffeException notYet = Assert.Throws<SpiffeException>(source.GetX509Svid);
        Assert.Contains("No X509-SVID yet", notYet.Message);
        Assert.Contains("tls.crt", notYet.Message); // the last reason: the certificate file is missing
        Assert.NotNull(source.LastError);
        Assert.Null(source.LastUpdatedAt);

        Task updated = source.WaitForUpdateAsync();
        string serial = _files.WriteCsiSet(); // the watcher sees it
        await updated.WaitAsync(s_wait);
        await source.WaitUntilReadyAsync(s_wait);

        Assert.Equal(serial, source.GetX509Svid().Certificate.SerialNumber);
        Assert.Null(source.LastError);
        Assert.NotNull(source.LastUpdatedAt);
    }

    [Fact]
    public async Task LastError_FilesRejectedThenRestored_SetWhileRejectedClearedAfter()
    {
        _files.WriteCsiSet();
        await using FileX509Source source = FileX509Source.Create(Options());
        await source.WaitUntilReadyAsync(s_wait);
        Assert.Null(source.LastError);
        string key = File.ReadAllText(_files.PathOf("tls.key"));

        File.WriteAllText(_files.PathOf("tls.key"), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", Encoding.ASCII);
        Assert.False(await source.ReloadAsync());
        Assert.NotNull(source.LastError);
        Assert.DoesNotContain("not a key", source.LastError!, StringComparison.Ordinal); // reasons never echo key material
        Assert.NotNull(source.GetX509Svid()); // the last good set stays

        File.WriteAllText(_files.PathOf("tls.key"), key, Encoding.ASCII);
        Assert.False(await source.ReloadAsync()); // the set in force again: nothing new, nothing wrong
        Assert.Null(source.LastError);
    }

    [Fact]
    public async Task GetX509Svid_Disposed_SaysDisposed()
    {
        _files.WriteCsiSet();
        FileX509Source source = FileX509Source.Create(Options());
        await source.WaitUntilReadyAsync(s_wait);

        await source.DisposeAsync();

        SpiffeException thrown = Assert.Throws<SpiffeException>(source.GetX509Svid);
        Assert.Contains("disposed", thrown.Message);
    }
}

namespace Spiffe.Cli.Tests;

/// <summary>Files that belong together (a key and its certificate) change together or not at all.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private const UnixFileMode Secret = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly string _directory = Directory.CreateTempSubdirectory("atomic-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WriteAll_EveryRenameSucceeds_AllReplacedNoTempLeft()
    {
        File.WriteAllText(Path.Combine(_directory, "key.pem"), "old key");
        File.WriteAllText(Path.Combine(_directory, "svid.pem"), "old cert");

        AtomicFile.WriteAll(_directory, [("key.pem", "new key"u8.ToArray(), Secret), ("svid.pem", "new cert"u8.ToArray(), Secret)]);

        Assert.Equal("new key", File.ReadAllText(Path.Combine(_directory, "key.pem")));
        Assert.Equal("new cert", File.ReadAllText(Path.Combine(_directory, "svid.pem")));
        Assert.Equal(2, Directory.GetFileSystemEntries(_directory).Length);
    }

    [Fact]
    public void WriteAll_SecondRenameFails_FirstFileGetsItsPreviousContentBack()
    {
        File.WriteAllText(Path.Combine(_directory, "key.pem"), "old key");
        File.SetUnixFileMode(Path.Combine(_directory, "key.pem"), Secret);

        // A non-empty directory where the certificate goes: staging works, the rename over it cannot.
        Directory.CreateDirectory(Path.Combine(_directory, "svid.pem", "blocker"));

        Assert.ThrowsAny<IOException>(() =>
            AtomicFile.WriteAll(_directory, [("key.pem", "new key"u8.ToArray(), Secret), ("svid.pem", "new cert"u8.ToArray(), Secret)]));

        Assert.Equal("old key", File.ReadAllText(Path.Combine(_directory, "key.pem")));
        Assert.Equal(Secret, File.GetUnixFileMode(Path.Combine(_directory, "key.pem")));
        Assert.DoesNotContain(Directory.GetFiles(_directory), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void WriteAll_SecondRenameFailsAndFirstFileIsNew_FirstFileRemoved()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "svid.pem", "blocker"));

        Assert.ThrowsAny<IOException>(() =>
            AtomicFile.WriteAll(_directory, [("key.pem", "new key"u8.ToArray(), Secret), ("svid.pem", "new cert"u8.ToArray(), Secret)]));

        Assert.False(File.Exists(Path.Combine(_directory, "key.pem")));
        Assert.Empty(Directory.GetFiles(_directory));
    }
}

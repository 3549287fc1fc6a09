using System.Text;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Tests.Files;

/// <summary>A temporary directory and PEM material written the way csi-driver-spiffe or spiffe-helper write it.</summary>
internal sealed class SvidFiles : IDisposable
{
    public static readonly TrustDomain TrustDomain = TrustDomain.Parse("example.org");
    public static readonly SpiffeId WorkloadId = SpiffeId.Parse("spiffe://example.org/ns/prod/sa/web");

    public SvidFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "spiffe-files-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Authority = TestCertificateAuthority.Create(TrustDomain);
    }

    public string Directory { get; }

    public TestCertificateAuthority Authority { get; }

    public string BundlePem
    {
        get
        {
            using Spiffe.Bundles.X509Bundle bundle = Authority.CreateX509Bundle();
            return bundle.ToPem();
        }
    }

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>A fresh SVID of the authority as PEM: its serial, the chain and the key.</summary>
    public (string Serial, string Certificates, string Key) NewSvid(TestX509SvidOptions? options = null, TestCertificateAuthority? authority = null)
    {
        using X509Svid svid = (authority ?? Authority).CreateX509Svid(WorkloadId, options);
        return (svid.Certificate.SerialNumber, svid.ToPem(), svid.ExportPrivateKeyPem());
    }

    /// <summary>Writes tls.crt, tls.key and ca.crt in place; returns the serial.</summary>
    public string WriteCsiSet(TestX509SvidOptions? options = null)
    {
        (string serial, string certificates, string key) = NewSvid(options);
        File.WriteAllText(PathOf("tls.crt"), certificates, Encoding.ASCII);
        File.WriteAllText(PathOf("tls.key"), key, Encoding.ASCII);
        File.WriteAllText(PathOf("ca.crt"), BundlePem, Encoding.ASCII);
        return serial;
    }

    public void Dispose()
    {
        Authority.Dispose();
        try
        {
            ResetPermissions(Directory);
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind does not change any result.
        }
    }

    private static void ResetPermissions(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        foreach (string file in System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            if (!new FileInfo(file).Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }
}

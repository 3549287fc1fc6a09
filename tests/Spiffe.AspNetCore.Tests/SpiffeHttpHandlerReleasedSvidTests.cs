using Spiffe.Tls;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// SpiffeHttpHandler reads the SVID, then builds its inner handler from it; a thread paused for two
/// rotations finds that SVID released by the source (seen in benchmarks/Spiffe.Soak as
/// "m_safeCertContext is an invalid handle" thrown by SendAsync).
/// </summary>
public sealed partial class KestrelSpiffeTests
{
    [Fact]
    public async Task SpiffeHttpHandler_SvidReleasedBeforeItsHandlerIsBuilt_RequestPresentsTheNewestSvid()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        X509Svid released = _ca.CreateX509Svid(s_clientId);
        released.Dispose();
        X509Svid newest = Own(_ca.CreateX509Svid(s_clientId));
        using var http = new HttpClient(new SpiffeHttpHandler(new ReleasedFirstSvidSource(released, newest), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        Assert.Equal(newest.Certificate.GetSerialNumberString(), await http.GetStringAsync(new Uri(address, "/serial")));
    }

    [Fact]
    public async Task SpiffeHttpHandler_SourceKeepsHandingOutAReleasedSvid_RequestFailsInsteadOfLooping()
    {
        Uri address = await StartAsync(listen => listen.UseSpiffeMtls(Svid(s_serverId), _bundles, SpiffeIdAuthorizer.Exact(s_clientId)));
        X509Svid released = _ca.CreateX509Svid(s_clientId);
        released.Dispose();
        using var http = new HttpClient(new SpiffeHttpHandler(new ReleasedFirstSvidSource(released, released), _bundles, SpiffeIdAuthorizer.Exact(s_serverId)));

        // Nothing newer to retry with: the failure surfaces (bounded), no request goes out on a released certificate.
        await Assert.ThrowsAnyAsync<Exception>(() => http.GetStringAsync(new Uri(address, "/serial")));
    }

    /// <summary>The first read returns an SVID the source has already released; every later read the newest one.</summary>
    private sealed class ReleasedFirstSvidSource(X509Svid released, X509Svid newest) : IX509SvidSource
    {
        private int _reads;

        public X509Svid GetX509Svid() => Interlocked.Increment(ref _reads) == 1 ? released : newest;
    }
}

using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Spiffe.Testing;
using Spiffe.X509;

namespace Spiffe.AspNetCore.Grpc.Tests;

/// <summary>The caller's SPIFFE ID from a gRPC ServerCallContext (Grpc.AspNetCore keeps the HttpContext in UserState["__HttpContext"]).</summary>
public sealed class ServerCallContextTests
{
    private static readonly SpiffeId s_clientId = SpiffeId.Parse("spiffe://example.org/frontend");

    [Fact]
    public void GetSpiffeId_ConnectionWithVerifiedPeer_ReturnsItsId()
    {
        using TestCertificateAuthority ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using X509Svid svid = ca.CreateX509Svid(s_clientId);
        var http = new DefaultHttpContext();
        http.Features.Set<ISpiffePeerFeature>(new SpiffePeerFeature(s_clientId, svid.Certificate));
        var call = new FakeServerCallContext(http);

        Assert.Equal(s_clientId, call.GetSpiffeId());
        Assert.True(call.TryGetSpiffeId(out SpiffeId? id));
        Assert.Equal(s_clientId, id);
    }

    [Fact]
    public void GetSpiffeId_ClientCertificateSetWithoutVerification_IsNotAnIdentity()
    {
        // What certificate forwarding or any middleware does: a certificate on the connection that
        // no UseSpiffeMtls handshake verified.
        using TestCertificateAuthority ca = TestCertificateAuthority.Create(TrustDomain.Parse("example.org"));
        using X509Svid svid = ca.CreateX509Svid(s_clientId);
        var http = new DefaultHttpContext();
        http.Connection.ClientCertificate = svid.Certificate;
        var call = new FakeServerCallContext(http);

        Assert.False(call.TryGetSpiffeId(out SpiffeId? id));
        Assert.Null(id);
        Assert.Throws<InvalidOperationException>(() => call.GetSpiffeId());
    }

    [Fact]
    public void GetSpiffeId_NoClientCertificate_Throws()
    {
        var call = new FakeServerCallContext(new DefaultHttpContext());

        Assert.False(call.TryGetSpiffeId(out SpiffeId? id));
        Assert.Null(id);
        Assert.Throws<InvalidOperationException>(() => call.GetSpiffeId());
        Assert.Throws<ArgumentNullException>(() => ((ServerCallContext)null!).GetSpiffeId());
    }

    private sealed class FakeServerCallContext : ServerCallContext
    {
        private readonly Dictionary<object, object> _userState = [];

        public FakeServerCallContext(HttpContext httpContext) => _userState["__HttpContext"] = httpContext;

        protected override string MethodCore => "/test.Service/Method";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore => new(null, []);

        protected override IDictionary<object, object> UserStateCore => _userState;

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}

using Spiffe.Jwt;
using Spiffe.Testing;

namespace Spiffe.WorkloadApi.Tests;

/// <summary>JwtSvidBearerHandler over any IJwtSvidSource: the abstraction lets callers fake or swap the token source.</summary>
public sealed class JwtSvidBearerHandlerSourceTests
{
    private static readonly SpiffeId s_web = SpiffeId.Parse("spiffe://example.org/web");

    [Fact]
    public async Task SendAsync_CustomSource_AsksWithTheHandlersRequestAndSetsBearer()
    {
        using var authority = new TestJwtAuthority(TrustDomain.Parse("example.org"));
        authority.AddKey("ES256", "k1");
        var source = new FixedJwtSvidSource(JwtSvid.ParseInsecure(authority.MintJwtSvid(s_web, ["backend"]), ["backend"]));
        var inner = new CapturingHandler();
        using var http = new HttpClient(new JwtSvidBearerHandler(source, ["backend", "backend"], s_web, inner));

        using HttpResponseMessage response = await http.GetAsync(new Uri("http://backend.invalid/x"));

        Assert.Equal(new JwtSvidRequest(["backend"], s_web), Assert.Single(source.Requests));
        Assert.Equal("Bearer", inner.Authorization?.Scheme);
        Assert.Equal(source.Svid.Token, inner.Authorization?.Parameter);
    }

    private sealed class FixedJwtSvidSource(JwtSvid svid) : IJwtSvidSource
    {
        public JwtSvid Svid { get; } = svid;

        public List<JwtSvidRequest> Requests { get; } = [];

        public ValueTask<JwtSvid> GetJwtSvidAsync(JwtSvidRequest request, CancellationToken cancellationToken = default)
        {
            Requests.Add(request);
            return ValueTask.FromResult(Svid);
        }
    }

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public System.Net.Http.Headers.AuthenticationHeaderValue? Authorization { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Authorization = request.Headers.Authorization;
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.NoContent));
        }
    }
}

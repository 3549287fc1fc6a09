using Microsoft.Extensions.Primitives;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Tests.Authentication;

/// <summary>
/// The XFCC reader against the header format Envoy documents (configuration/http/http_conn_man/headers,
/// "x-forwarded-client-cert"): its examples parse to the documented fields; everything outside the
/// grammar is refused as a whole, without an exception.
/// </summary>
public sealed class ForwardedClientCertificateHeaderTests
{
    private const string Hash1 = "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688";
    private const string Hash2 = "9ba61d6425303443c0748a02dd8de688468ed33be74eee6556d90c0149c1309e";

    [Fact]
    public void TryParse_DocumentedSingleElementWithQuotedSubject_ReadsEveryKey()
    {
        string header = $"By=http://frontend.lyft.com;Hash={Hash1};Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";URI=http://testclient.lyft.com";

        Assert.True(ForwardedClientCertificateHeader.TryParse(header, out IReadOnlyList<ForwardedClientCertificate>? elements, out string? error), error);

        ForwardedClientCertificate e = Assert.Single(elements);
        Assert.Equal("http://frontend.lyft.com", e.By);
        Assert.Equal(Hash1, e.Hash);
        Assert.Equal("/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client", e.Subject);
        Assert.Equal("http://testclient.lyft.com", e.Uri);
        Assert.Empty(e.Dns);
        Assert.Null(e.Cert);
    }

    [Fact]
    public void TryParse_DocumentedTwoProxyHops_ReadsElementsInOrder()
    {
        string header = $"By=http://frontend.lyft.com;Hash={Hash1};URI=http://testclient.lyft.com,By=http://backend.lyft.com;Hash={Hash2};URI=http://frontend.lyft.com";

        Assert.True(ForwardedClientCertificateHeader.TryParse(header, out IReadOnlyList<ForwardedClientCertificate>? elements, out _));

        Assert.Equal(2, elements.Count);
        Assert.Equal("http://testclient.lyft.com", elements[0].Uri);
        Assert.Equal("http://backend.lyft.com", elements[1].By);
        Assert.Equal(Hash2, elements[1].Hash);
        Assert.Equal("http://frontend.lyft.com", elements[1].Uri);
    }

    [Fact]
    public void TryParse_DocumentedRepeatedDns_KeepsEveryName()
    {
        string header = $"By=http://frontend.lyft.com;Hash={Hash1};URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com";

        Assert.True(ForwardedClientCertificateHeader.TryParse(header, out IReadOnlyList<ForwardedClientCertificate>? elements, out _));

        Assert.Equal(["lyft.com", "www.lyft.com"], Assert.Single(elements).Dns);
    }

    [Theory]
    [InlineData("Subject=\"CN=a \\\"quoted\\\" name, O=x; y\"", "CN=a \"quoted\" name, O=x; y")]
    [InlineData("Subject=\"back\\\\slash\"", "back\\slash")]
    [InlineData("Subject=\"\"", "")]
    [InlineData("subject=plain", "plain")]
    public void TryParse_QuotedAndEscapedValues_Unescaped(string header, string subject)
    {
        Assert.True(ForwardedClientCertificateHeader.TryParse(header, out IReadOnlyList<ForwardedClientCertificate>? elements, out string? error), error);

        Assert.Equal(subject, Assert.Single(elements).Subject);
    }

    [Fact]
    public void TryParse_UrlEncodedCertAndChain_KeptEncoded()
    {
        string header = "Hash=ab;Cert=\"-----BEGIN%20CERTIFICATE-----%0aMIIB%0a-----END%20CERTIFICATE-----%0a\";Chain=\"-----BEGIN%20CERTIFICATE-----%0a\";URI=spiffe://example.org/web";

        Assert.True(ForwardedClientCertificateHeader.TryParse(header, out IReadOnlyList<ForwardedClientCertificate>? elements, out _));

        Assert.StartsWith("-----BEGIN%20CERTIFICATE", Assert.Single(elements).Cert, StringComparison.Ordinal);
        Assert.NotNull(elements[0].Chain);
    }

    [Fact]
    public void TryParse_EmptyUriAsEnvoySendsIt_ParsesAsEmpty()
    {
        Assert.True(ForwardedClientCertificateHeader.TryParse("By=spiffe://example.org/gw;Hash=ab;Subject=\"\";URI=", out IReadOnlyList<ForwardedClientCertificate>? elements, out _));

        Assert.Equal(string.Empty, Assert.Single(elements).Uri);
    }

    [Fact]
    public void TryParse_WhitespaceAfterElementComma_Accepted()
    {
        Assert.True(ForwardedClientCertificateHeader.TryParse("URI=spiffe://a.org/x, URI=spiffe://a.org/y", out IReadOnlyList<ForwardedClientCertificate>? elements, out _));

        Assert.Equal("spiffe://a.org/y", elements[1].Uri);
    }

    [Theory]
    [InlineData("")]
    [InlineData("URI")]
    [InlineData("=value")]
    [InlineData("URI=spiffe://a.org/x;")]
    [InlineData("URI=spiffe://a.org/x,")]
    [InlineData(",URI=spiffe://a.org/x")]
    [InlineData("URI=spiffe://a.org/x,,URI=spiffe://a.org/y")]
    [InlineData("URI=spiffe://a.org/x;URI=spiffe://a.org/y")]
    [InlineData("By=a;by=b")]
    [InlineData("X-Svid=spiffe://a.org/x")]
    [InlineData("Unknown=1")]
    [InlineData("Subject=\"unterminated")]
    [InlineData("Subject=\"a\"b")]
    [InlineData("Subject=\"bad \\escape\"")]
    [InlineData("Subject=\"trailing backslash\\")]
    [InlineData("URI=a=b")]
    [InlineData("URI=a\"b")]
    [InlineData("URI=a b")]
    [InlineData("URI=a\nb")]
    [InlineData("Subject=\"a\u0001b\"")]
    [InlineData(" URI=spiffe://a.org/x")]
    [InlineData("URI =spiffe://a.org/x")]
    public void TryParse_OutsideTheGrammar_RefusedWithReason(string header)
    {
        Assert.False(ForwardedClientCertificateHeader.TryParse(header, out IReadOnlyList<ForwardedClientCertificate>? elements, out string? error));

        Assert.Null(elements);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void TryParse_TooManyElements_Refused()
    {
        string header = string.Join(',', Enumerable.Repeat("URI=spiffe://a.org/x", ForwardedClientCertificateHeader.MaxElements + 1));

        Assert.False(ForwardedClientCertificateHeader.TryParse(header, out _, out string? error));
        Assert.Contains("elements", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_RandomInputs_NeverThrow()
    {
        // Deterministic noise over the grammar's alphabet: any outcome is fine, an exception is not.
        const string alphabet = "=;,\"\\ aZ:/.\u0000\u00e9";
        var random = new Random(1234);
        for (int n = 0; n < 20_000; n++)
        {
            char[] chars = new char[random.Next(0, 40)];
            for (int i = 0; i < chars.Length; i++)
            {
                chars[i] = alphabet[random.Next(alphabet.Length)];
            }

            bool ok = ForwardedClientCertificateHeader.TryParse(new string(chars), out IReadOnlyList<ForwardedClientCertificate>? elements, out string? error);
            Assert.True(ok ? elements is { Count: > 0 } && error is null : elements is null && error is not null);
        }
    }

    [Fact]
    public void TryReadForwardedCaller_ProxyElementIsLast_CallerFromLastUri()
    {
        var proxy = SpiffeId.Parse("spiffe://example.org/gateway");
        StringValues header = new("URI=spiffe://other.org/far-away,By=spiffe://example.org/gateway;Hash=ab;URI=spiffe://example.org/web");

        Assert.True(SpiffeX509AuthenticationHandler.TryReadForwardedCaller(proxy, header, out SpiffeId? caller, out string? hash, out _));

        Assert.Equal(SpiffeId.Parse("spiffe://example.org/web"), caller);
        Assert.Equal("ab", hash);
    }

    [Theory]
    [InlineData("By=spiffe://example.org/someone-else;URI=spiffe://example.org/web", "By")]
    [InlineData("URI=http://example.org/web", "SPIFFE ID")]
    [InlineData("URI=spiffe://Example.org/web", "SPIFFE ID")]
    [InlineData("Hash=ab;URI=", "no URI")]
    [InlineData("Hash=ab", "no URI")]
    [InlineData("URI=spiffe://example.org/web;Bogus=1", "unknown key")]
    public void TryReadForwardedCaller_InvalidProxyElement_NoCaller(string header, string reasonPart)
    {
        var proxy = SpiffeId.Parse("spiffe://example.org/gateway");

        Assert.False(SpiffeX509AuthenticationHandler.TryReadForwardedCaller(proxy, new StringValues(header), out SpiffeId? caller, out _, out string? reason));

        Assert.Null(caller);
        Assert.Contains(reasonPart, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadForwardedCaller_TwoHeaderFields_NoCaller()
    {
        var proxy = SpiffeId.Parse("spiffe://example.org/gateway");

        Assert.False(SpiffeX509AuthenticationHandler.TryReadForwardedCaller(proxy, new StringValues(["URI=spiffe://example.org/a", "URI=spiffe://example.org/b"]), out SpiffeId? caller, out _, out string? reason));

        Assert.Null(caller);
        Assert.Contains("header fields", reason, StringComparison.Ordinal);
    }
}

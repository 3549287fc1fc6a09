using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Spiffe.Bundles;

namespace Spiffe.AspNetCore;

/// <summary>A federation bundle endpoint (SPIFFE Federation §5) serving this trust domain's bundle.</summary>
/// <remarks>
/// <code>
/// app.MapSpiffeBundleEndpoint("/bundle", TrustDomain.Parse("example.org"), x509Source, jwtSource);
/// </code>
/// Host it on an endpoint that does not require client certificates (§5.2.1.3, §5.2.2.3): with
/// <c>UseSpiffeTls(source)</c> for the <c>https_spiffe</c> profile, or with a web PKI certificate
/// for <c>https_web</c>.
/// </remarks>
public static class SpiffeBundleEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves <paramref name="trustDomain"/>'s bundle at <paramref name="pattern"/> (GET), as a
    /// SPIFFE bundle document with the default refresh hint.
    /// </summary>
    /// <inheritdoc cref="MapSpiffeBundleEndpoint(IEndpointRouteBuilder, string, SpiffeBundleEndpointOptions)"/>
    public static IEndpointConventionBuilder MapSpiffeBundleEndpoint(this IEndpointRouteBuilder endpoints, string pattern, TrustDomain trustDomain, IX509BundleSource x509Bundles, IJwtBundleSource? jwtBundles = null) =>
        MapSpiffeBundleEndpoint(endpoints, pattern, new SpiffeBundleEndpointOptions { TrustDomain = trustDomain, X509Bundles = x509Bundles, JwtBundles = jwtBundles });

    /// <summary>
    /// Serves the trust domain's bundle at <paramref name="pattern"/> (GET) as a SPIFFE bundle
    /// document (Trust Domain and Bundle §4): one <c>x509-svid</c> key per CA, one <c>jwt-svid</c>
    /// key per JWT authority, <c>spiffe_refresh_hint</c>, and a <c>spiffe_sequence</c> that grows
    /// whenever the authorities change (seconds since 1970 at the change, or one more than the last
    /// number, whichever is larger, so it keeps growing across restarts).
    /// </summary>
    /// <remarks>
    /// Answers <c>application/json</c> with an <c>ETag</c> (and 304 to a matching
    /// <c>If-None-Match</c>), <c>Last-Modified</c> and <c>Cache-Control: max-age</c> of half the
    /// refresh hint; 503 while the sources hold neither an X.509 nor a JWT bundle of the trust domain.
    /// No authentication is required (§5.2.1.3): the endpoint carries <c>AllowAnonymous</c>, so a
    /// deny-by-default fallback policy does not apply to it.
    /// </remarks>
    /// <param name="endpoints">The application's route builder.</param>
    /// <param name="pattern">The route, e.g. <c>/bundle</c>.</param>
    /// <param name="options">The trust domain and its bundle sources.</param>
    /// <returns>The endpoint's convention builder (to add metadata, host filters...).</returns>
    /// <exception cref="ArgumentException">The options lack the trust domain or the X.509 source, or the refresh hint is not a positive whole number of seconds.</exception>
    public static IEndpointConventionBuilder MapSpiffeBundleEndpoint(this IEndpointRouteBuilder endpoints, string pattern, SpiffeBundleEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentNullException.ThrowIfNull(options);
        if (options.TrustDomain is null || options.X509Bundles is null)
        {
            throw new ArgumentException("SpiffeBundleEndpointOptions.TrustDomain and X509Bundles are required.", nameof(options));
        }

        if (options.RefreshHint <= TimeSpan.Zero || options.RefreshHint.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentException("SpiffeBundleEndpointOptions.RefreshHint must be a positive whole number of seconds.", nameof(options));
        }

        var document = new BundleDocument(options.TrustDomain, options.X509Bundles, options.JwtBundles, options.RefreshHint, options.TimeProvider ?? TimeProvider.System);
        // Public by design (§5.2.1.3): a deny-by-default fallback policy must not hide it.
        return endpoints.MapGet(pattern, document.Serve).AllowAnonymous();
    }

    /// <summary>The served document, rebuilt only when the sources hand out a new bundle instance, renumbered only when its content changed.</summary>
    private sealed class BundleDocument(TrustDomain trustDomain, IX509BundleSource x509Source, IJwtBundleSource? jwtSource, TimeSpan refreshHint, TimeProvider timeProvider)
    {
        private readonly Lock _lock = new();
        private Rendered? _rendered;

        public async Task Serve(HttpContext context)
        {
            Rendered? rendered = Current();
            HttpResponse response = context.Response;
            if (rendered is null)
            {
                response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                response.Headers.CacheControl = "no-store";
                await response.WriteAsync($"No bundle for trust domain {trustDomain} yet.", context.RequestAborted).ConfigureAwait(false);
                return;
            }

            response.Headers.ETag = rendered.ETag;
            response.GetTypedHeaders().LastModified = rendered.LastModified;
            response.Headers.CacheControl = $"public, max-age={(long)refreshHint.TotalSeconds / 2}";
            if (context.Request.Headers.IfNoneMatch.Count > 0
                && EntityTagHeaderValue.TryParseList(context.Request.Headers.IfNoneMatch, out IList<EntityTagHeaderValue>? tags)
                && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(new EntityTagHeaderValue(rendered.ETag), useStrongComparison: false)))
            {
                response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }

            response.ContentType = "application/json; charset=utf-8";
            response.ContentLength = rendered.Body.Length;
            await response.Body.WriteAsync(rendered.Body, context.RequestAborted).ConfigureAwait(false);
        }

        private Rendered? Current()
        {
            X509Bundle? x509 = x509Source.GetX509Bundle(trustDomain);
            JwtBundle? jwt = jwtSource?.GetJwtBundle(trustDomain);
            if (x509 is null && jwt is null)
            {
                return null;
            }

            Rendered? rendered = _rendered;
            if (rendered is not null && ReferenceEquals(rendered.X509, x509) && ReferenceEquals(rendered.Jwt, jwt))
            {
                return rendered;
            }

            lock (_lock)
            {
                rendered = _rendered;
                if (rendered is not null && ReferenceEquals(rendered.X509, x509) && ReferenceEquals(rendered.Jwt, jwt))
                {
                    return rendered;
                }

                // The content without the sequence decides whether the sequence moves.
                byte[] content = Render(x509, jwt, sequence: null);
                byte[] contentHash = SHA256.HashData(content);
                DateTimeOffset now = timeProvider.GetUtcNow();
                long sequence;
                DateTimeOffset lastModified;
                if (rendered is not null && rendered.ContentHash.AsSpan().SequenceEqual(contentHash))
                {
                    sequence = rendered.Sequence;
                    lastModified = rendered.LastModified;
                }
                else
                {
                    sequence = Math.Max(now.ToUnixTimeSeconds(), (rendered?.Sequence ?? 0) + 1);
                    lastModified = now;
                }

                byte[] body = Render(x509, jwt, sequence);
                string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16)) + "\"";
                rendered = new Rendered(x509, jwt, contentHash, sequence, lastModified, body, etag);
                _rendered = rendered;
                return rendered;
            }
        }

        private byte[] Render(X509Bundle? x509, JwtBundle? jwt, long? sequence)
        {
            // SpiffeBundle takes ownership of the certificates it is given: hand it copies it may dispose.
            var authorities = x509?.X509Authorities.Select(c => System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(c.RawDataMemory.Span)).ToList() ?? [];
            using var bundle = new SpiffeBundle(trustDomain, authorities, jwt?.JwtAuthorities ?? [], sequence, refreshHint);
            return Encoding.UTF8.GetBytes(bundle.ToJson());
        }

        private sealed record Rendered(X509Bundle? X509, JwtBundle? Jwt, byte[] ContentHash, long Sequence, DateTimeOffset LastModified, byte[] Body, string ETag);
    }
}

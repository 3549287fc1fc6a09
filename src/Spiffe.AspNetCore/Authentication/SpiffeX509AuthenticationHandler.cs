using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Spiffe.AspNetCore.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>
/// Authenticates the caller from <see cref="ISpiffePeerFeature"/>, i.e. what this connection's
/// TLS handshake verified (<c>UseSpiffeMtls</c>), and nothing else: a client certificate that
/// reached the app another way (certificate forwarding, middleware) is never read. The one
/// exception is a verified peer listed in <see cref="SpiffeX509AuthenticationOptions.TrustedProxies"/>,
/// whose <c>x-forwarded-client-cert</c> header names the caller.
/// </summary>
internal sealed class SpiffeX509AuthenticationHandler(IOptionsMonitor<SpiffeX509AuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<SpiffeX509AuthenticationOptions>(options, logger, encoder)
{
    // The serial and expiry are read from the leaf once per connection, not per request.
    private static readonly ConditionalWeakTable<ISpiffePeerFeature, PeerFacts> s_facts = [];

    private new SpiffeX509AuthenticationEvents Events
    {
        get => (SpiffeX509AuthenticationEvents)base.Events!;
        set => base.Events = value;
    }

    protected override Task<object> CreateEventsAsync() => Task.FromResult<object>(new SpiffeX509AuthenticationEvents());

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        Context.Features.Get<SpiffeAuditRecord>()?.SchemeReached = true;
        ISpiffePeerFeature? peer = Context.Features.Get<ISpiffePeerFeature>();
        if (peer is null)
        {
            return AuthenticateResult.NoResult();
        }

        StringValues forwarded = Request.Headers[ForwardedClientCertificateHeader.Name];
        if (forwarded.Count > 0)
        {
            if (Options.TrustedProxies?.IsAuthorized(peer.SpiffeId) == true)
            {
                return await AuthenticateForwardedAsync(peer, forwarded).ConfigureAwait(false);
            }

            // Anyone can write this header; only a configured proxy's word counts.
            SpiffeAuthenticationLog.ForwardedCertificateFromUntrustedPeer(Logger, Scheme.Name, peer.SpiffeId, Context.Connection.RemoteIpAddress?.ToString() ?? "(unknown)");
        }

        PeerFacts facts = s_facts.GetValue(peer, static p => new PeerFacts(
            p.Certificate.GetSerialNumberString(),
            p.Certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));
        string issuer = ClaimsIssuer;
        var identity = new SpiffeClaimsIdentity(peer.SpiffeId, jwtSvid: null, SpiffeAuthenticationDefaults.X509AuthenticationType);
        identity.AddSpiffeIdClaims(issuer);
        identity.AddClaim(new Claim(SpiffeClaimTypes.X509SerialNumber, facts.Serial, ClaimValueTypes.String, issuer, issuer, identity));
        identity.AddClaim(new Claim(SpiffeClaimTypes.X509NotAfter, facts.NotAfter, ClaimValueTypes.DateTime, issuer, issuer, identity));
        return await ValidatedAsync(peer, identity).ConfigureAwait(false);
    }

    /// <summary>Runs <see cref="SpiffeX509AuthenticationEvents.Validated"/> unless the events are the default ones, which would only succeed.</summary>
    private async ValueTask<AuthenticateResult> ValidatedAsync(ISpiffePeerFeature peer, SpiffeClaimsIdentity identity)
    {
        var principal = new ClaimsPrincipal(identity);
        if (Events.ValidatedIsNoOp)
        {
            return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
        }

        var context = new SpiffeX509ValidatedContext(Context, Scheme, Options, peer) { Principal = principal };
        await Events.Validated(context).ConfigureAwait(false);
        if (context.Result is not null)
        {
            return context.Result;
        }

        context.Success();
        return context.Result!;
    }

    private async Task<AuthenticateResult> AuthenticateForwardedAsync(ISpiffePeerFeature proxy, StringValues headers)
    {
        if (!TryReadForwardedCaller(proxy.SpiffeId, headers, out SpiffeId? caller, out string? hash, out string? reason))
        {
            SpiffeAuthenticationLog.ForwardedCertificateRejected(Logger, Scheme.Name, proxy.SpiffeId, reason);
            return AuthenticateResult.Fail("The x-forwarded-client-cert header from the trusted proxy is not valid: " + reason);
        }

        string issuer = ClaimsIssuer;
        var identity = new SpiffeClaimsIdentity(caller, jwtSvid: null, SpiffeAuthenticationDefaults.X509AuthenticationType);
        identity.AddSpiffeIdClaims(issuer);
        identity.AddClaim(new Claim(SpiffeClaimTypes.ProxySpiffeId, proxy.SpiffeId.ToString(), ClaimValueTypes.String, issuer, issuer, identity));
        Context.Features.Set<ISpiffeForwardedCallerFeature>(new SpiffeForwardedCallerFeature(proxy.SpiffeId, caller, hash));
        if (Context.Features.Get<Audit.SpiffeAuditRecord>() is { } audit)
        {
            audit.ProxyId = proxy.SpiffeId; // the audit event names the proxy next to the original caller
        }

        SpiffeAuthenticationLog.ForwardedCallerAccepted(Logger, Scheme.Name, caller, proxy.SpiffeId);
        return await ValidatedAsync(proxy, identity).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the caller from the element the proxy itself added (the last one): exactly one header
    /// field, a well-formed value, a <c>URI</c> that is a SPIFFE ID, and a <c>By</c>, when present,
    /// equal to the proxy's own ID. Earlier elements come from hops this service did not verify.
    /// </summary>
    internal static bool TryReadForwardedCaller(SpiffeId proxy, StringValues headers, [NotNullWhen(true)] out SpiffeId? caller, out string? hash, [NotNullWhen(false)] out string? reason)
    {
        caller = null;
        hash = null;
        if (headers.Count != 1)
        {
            reason = $"{headers.Count} header fields (exactly one expected)";
            return false;
        }

        if (!ForwardedClientCertificateHeader.TryParse(headers[0], out IReadOnlyList<ForwardedClientCertificate>? elements, out reason))
        {
            return false;
        }

        ForwardedClientCertificate last = elements[^1];
        if (string.IsNullOrEmpty(last.Uri))
        {
            reason = "the proxy's element has no URI (the client certificate had no SPIFFE ID)";
            return false;
        }

        if (!SpiffeId.TryParse(last.Uri, out caller))
        {
            reason = "the proxy's element URI is not a valid SPIFFE ID";
            return false;
        }

        if (last.By is not null && !string.Equals(last.By, proxy.ToString(), StringComparison.Ordinal))
        {
            caller = null;
            reason = "the proxy's element names another proxy in By";
            return false;
        }

        hash = string.IsNullOrEmpty(last.Hash) ? null : last.Hash;
        reason = null;
        return true;
    }

    private sealed record PeerFacts(string Serial, string NotAfter);
}

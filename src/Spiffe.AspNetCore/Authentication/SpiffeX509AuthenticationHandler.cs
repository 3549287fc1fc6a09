using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Spiffe.AspNetCore.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Spiffe.AspNetCore.Authentication;

/// <summary>
/// Authenticates the caller from <see cref="ISpiffePeerFeature"/>, i.e. what this connection's
/// TLS handshake verified (<c>UseSpiffeMtls</c>), and nothing else: a client certificate that
/// reached the app another way (certificate forwarding, middleware) is never read.
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

        PeerFacts facts = s_facts.GetValue(peer, static p => new PeerFacts(
            p.Certificate.GetSerialNumberString(),
            p.Certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));
        string issuer = ClaimsIssuer;
        var identity = new SpiffeClaimsIdentity(peer.SpiffeId, jwtSvid: null, SpiffeAuthenticationDefaults.X509AuthenticationType);
        identity.AddSpiffeIdClaims(issuer);
        identity.AddClaim(new Claim(SpiffeClaimTypes.X509SerialNumber, facts.Serial, ClaimValueTypes.String, issuer, issuer, identity));
        identity.AddClaim(new Claim(SpiffeClaimTypes.X509NotAfter, facts.NotAfter, ClaimValueTypes.DateTime, issuer, issuer, identity));

        var context = new SpiffeX509ValidatedContext(Context, Scheme, Options, peer) { Principal = new ClaimsPrincipal(identity) };
        await Events.Validated(context).ConfigureAwait(false);
        if (context.Result is not null)
        {
            return context.Result;
        }

        context.Success();
        return context.Result!;
    }

    private sealed record PeerFacts(string Serial, string NotAfter);
}

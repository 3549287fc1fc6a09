using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Spiffe.BenchmarkShared;

/// <summary>
/// The ASP.NET Core floor's scheme: one principal built once, handed to every request, no SPIFFE
/// code. With <c>RequireAuthenticatedUser</c> it measures what the framework's authentication and
/// authorization middleware cost by themselves.
/// </summary>
internal sealed class FixedPrincipalHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Fixed";

    private static readonly ClaimsPrincipal s_principal = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "spiffe://example.org/frontend")], SchemeName));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(s_principal, SchemeName)));
}

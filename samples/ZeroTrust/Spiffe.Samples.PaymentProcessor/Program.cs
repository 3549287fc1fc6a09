// payment-processor: the policy enforcement point of a zero-trust service.
// - mTLS proves the workload: Kestrel's UseSpiffeMtls admits only SVIDs of prod.example.com
//   (verified with that trust domain's bundle from the Workload API);
// - a JWT-SVID for audience "payment-processor", bound to the same caller, proves the request;
// - the decision is explicit and deny by default, made by one of two decision points:
//     --ZeroTrust:Authorization=Rules (default): the rule set Spiffe:Authorization:Rules of appsettings.json;
//     --ZeroTrust:Authorization=Opa: Open Policy Agent at --ZeroTrust:OpaUrl (policy: ../opa/policy.rego);
// - every request and every refused handshake is an audit event (category Spiffe.Audit, events
//   4100/4101); --Logging:Console:FormatterName=json writes them as one JSON object per line.
// Configuration: appsettings.json, then environment, then --Key=value arguments.
using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Audit;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.AspNetCore.Opa;
using Spiffe.Samples;
using Spiffe.WorkloadApi;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
IConfigurationSection settings = builder.Configuration.GetSection("ZeroTrust");
SpiffeId ownId = SpiffeId.Parse(settings["SpiffeId"] ?? "spiffe://prod.example.com/ns/payments/sa/payment-processor");
TrustDomain trustDomain = ownId.TrustDomain;
IPAddress host = IPAddress.Parse(settings["Host"] ?? "127.0.0.1");
int port = int.Parse(settings["Port"] ?? "8443", System.Globalization.CultureInfo.InvariantCulture);
string mode = settings["Authorization"] ?? "Rules";
bool useOpa = string.Equals(mode, "Opa", StringComparison.OrdinalIgnoreCase);
if (!useOpa && !string.Equals(mode, "Rules", StringComparison.OrdinalIgnoreCase))
{
    Console.Error.WriteLine($"error: ZeroTrust:Authorization is '{mode}'; use Rules or Opa");
    return 2;
}

try
{
    // SPIFFE_ENDPOINT_SOCKET says where the agent is. SampleIdentity picks this workload's SVID by ID
    // (a development agent issues every ID to every caller; SPIRE issues only the registered ones).
    await using X509Source x509 = await SampleIdentity.OpenAsync(ownId, CancellationToken.None);
    await using JwtSource jwt = await JwtSource.CreateAsync(); // the JWT bundles that verify JWT-SVIDs

    builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
    builder.Services.AddAuthentication()
        .AddSpiffeX509()
        .AddSpiffeJwt(o =>
        {
            o.Audiences.Add("payment-processor");
            o.BundleSource = jwt;
        });
    if (useOpa)
    {
        // OPA is the decision point: it gets the caller (the JWT-SVID's subject, its claims, the mTLS
        // peer) and the request as the input document of docs/opa.md, and answers allow or deny.
        builder.Services.AddOpaAuthorization(o =>
        {
            o.Endpoint = new Uri(settings["OpaUrl"] ?? "http://127.0.0.1:8181/");
            o.DecisionPath = settings["OpaDecisionPath"] ?? "http/authz/allow";
            // The library's 500 ms default suits a warm OPA sidecar. The first query of a process also
            // pays for JIT, the first connection and the PDP's warm-up: measured with run.sh on a loaded
            // two-core machine, about 300 ms more than the same first request decided by the rules
            // (README.md, "The OPA timeout"). A slow cold start must not become a false 503.
            o.Timeout = TimeSpan.Parse(settings["OpaTimeout"] ?? "00:00:05", System.Globalization.CultureInfo.InvariantCulture);
        });
    }

    // The audit trail: one event per request and per refused handshake, including the requests
    // answered 503 because OPA could not decide (decision "unavailable"), in any registration order.
    builder.Services.AddSpiffeAudit();
    builder.Services.AddAuthorization(o => o.AddPolicy("payments", p =>
    {
        // Both decision points need a JWT-SVID whose subject is the mTLS peer (no token replay
        // from another workload), then decide on that caller, the method and the path.
        p.AddSpiffeAuthenticationSchemes(includeJwt: true).RequireJwtSvidBoundToPeer();
        if (useOpa)
        {
            p.RequireOpaDecision();
        }
        else
        {
            p.RequireSpiffeRules(); // Spiffe:Authorization:Rules in appsettings.json
        }
    }));
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(host, port, listen =>
        listen.UseSpiffeMtls(x509, SpiffeIdAuthorizer.MemberOf(trustDomain)))); // the transport admits the trust domain; the policy decides per request

    await using WebApplication app = builder.Build();
    RouteGroupBuilder v1 = app.MapGroup("/v1").RequireAuthorization("payments");
    v1.MapPost("/payments", (HttpContext http) => Results.Ok(new PaymentAnswer("accepted", http.GetSpiffeId().ToString())));
    v1.MapPost("/refunds", (HttpContext http) => Results.Ok(new PaymentAnswer("refunded", http.GetSpiffeId().ToString())));
    v1.MapGet("/payments/{id}", (string id, HttpContext http) => Results.Ok(new PaymentAnswer($"payment {id}", http.GetSpiffeId().ToString())));

    await app.StartAsync();
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    Console.WriteLine($"payment-processor listening on {address} as {ownId}, decisions by {(useOpa ? "OPA" : "rules")}");
    await app.WaitForShutdownAsync();
    return 0;
}
catch (Exception e) when (e is SpiffeException or InvalidOperationException or IOException or FormatException or Microsoft.Extensions.Options.OptionsValidationException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

internal sealed record PaymentAnswer(string Status, string Caller);

// payment-processor: the policy enforcement point of a zero-trust service.
// - mTLS proves the workload: Kestrel's UseSpiffeMtls admits only SVIDs of prod.example.com
//   (verified with that trust domain's bundle from the Workload API);
// - a JWT-SVID for audience "payment-processor", bound to the same caller, proves the request;
// - the decision is explicit and deny by default: the "payments" policy (configuration rules,
//   appsettings.json) — or OPA as the policy decision point with --ZeroTrust:Authorization=Opa.
// Configuration: appsettings.json, then environment, then --Key=value arguments.
using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Samples;
using Spiffe.WorkloadApi;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
IConfigurationSection settings = builder.Configuration.GetSection("ZeroTrust");
SpiffeId ownId = SpiffeId.Parse(settings["SpiffeId"] ?? "spiffe://prod.example.com/ns/payments/sa/payment-processor");
TrustDomain trustDomain = ownId.TrustDomain;
IPAddress host = IPAddress.Parse(settings["Host"] ?? "127.0.0.1");
int port = int.Parse(settings["Port"] ?? "8443", System.Globalization.CultureInfo.InvariantCulture);

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
    builder.Services.AddAuthorization(o => o.AddPolicy("payments", p => p
        .AddSpiffeAuthenticationSchemes(includeJwt: true)
        .RequireJwtSvidBoundToPeer()
        .RequireSpiffeId(SpiffeId.Parse("spiffe://prod.example.com/ns/payments/sa/checkout-service"))));
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(host, port, listen =>
        listen.UseSpiffeMtls(x509, SpiffeIdAuthorizer.MemberOf(trustDomain)))); // the transport admits the trust domain; the policy decides per request

    await using WebApplication app = builder.Build();
    RouteGroupBuilder v1 = app.MapGroup("/v1").RequireAuthorization("payments");
    v1.MapPost("/payments", (HttpContext http) => Results.Ok(new PaymentAnswer("accepted", http.GetSpiffeId().ToString())));
    v1.MapPost("/refunds", (HttpContext http) => Results.Ok(new PaymentAnswer("refunded", http.GetSpiffeId().ToString())));
    v1.MapGet("/payments/{id}", (string id, HttpContext http) => Results.Ok(new PaymentAnswer($"payment {id}", http.GetSpiffeId().ToString())));

    await app.StartAsync();
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    Console.WriteLine($"payment-processor listening on {address} as {ownId}");
    await app.WaitForShutdownAsync();
    return 0;
}
catch (Exception e) when (e is SpiffeException or InvalidOperationException or IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

internal sealed record PaymentAnswer(string Status, string Caller);

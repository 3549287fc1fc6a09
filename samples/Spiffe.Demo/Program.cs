// The SDK's main job, end to end, with no SPIRE: an embedded Workload API issues 6-second SVIDs to
// three workloads. "backend" is a Kestrel service with mutual TLS that admits only "frontend",
// configured from appsettings.json with AddSpiffe(), the SPIFFE authentication schemes and policies;
// "frontend" calls it continuously over HTTPS while both sides' SVIDs rotate; an "intruder" with a
// valid SVID of another ID is refused in the TLS handshake; one call is authenticated by a JWT-SVID.
// With SPIFFE_ENDPOINT_SOCKET set, the demo uses that agent instead (it must issue the three IDs).
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Jwt;
using Spiffe.Testing;
using Spiffe.Tls;
using Spiffe.WorkloadApi;
using Spiffe.X509;

var trustDomain = TrustDomain.Parse("example.org");
SpiffeId frontendId = SpiffeId.FromSegments(trustDomain, "frontend");
SpiffeId backendId = SpiffeId.FromSegments(trustDomain, "backend");
SpiffeId intruderId = SpiffeId.FromSegments(trustDomain, "intruder");
const string Audience = "spiffe://example.org/backend";
const int WantedRotations = 3;
var clock = Stopwatch.StartNew();
void Log(string who, string what) => Console.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0}s  {who,-9} {what}");

DevelopmentAgent? agent = null;
string? address = Environment.GetEnvironmentVariable(WorkloadApiAddress.EnvironmentVariable);
if (string.IsNullOrEmpty(address))
{
    var agentOptions = new DevelopmentAgentOptions { TrustDomain = trustDomain, SvidTimeToLive = TimeSpan.FromSeconds(6) };
    agentOptions.Ids.Add(frontendId);
    agentOptions.Ids.Add(backendId);
    agentOptions.Ids.Add(intruderId);
    agent = await DevelopmentAgent.StartAsync(agentOptions);
    address = agent.Address;
    Log("agent", $"embedded Workload API on {address}: SVIDs live 6 s, rotate every 3 s");
}
else
{
    Log("agent", $"using the Workload API at {address} (SPIFFE_ENDPOINT_SOCKET)");
}

WebApplication? backendApp = null;
try
{
    var client = new WorkloadApiClientOptions { Address = address };
    X509SourceOptions For(SpiffeId id) => new()
    {
        ClientOptions = client,
        Picker = svids => svids.FirstOrDefault(s => s.Id == id) ?? throw new InvalidOperationException($"The agent does not issue {id}."),
    };

    await using X509Source frontend = await X509Source.CreateAsync(For(frontendId));
    await using X509Source intruder = await X509Source.CreateAsync(For(intruderId));
    await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = client });

    // The backend: an ASP.NET Core service configured from appsettings.json (the "Spiffe" section:
    // present spiffe://example.org/backend, admit only the frontend in the TLS handshake, policy
    // "Frontend"). AddSpiffe() runs its X509Source and JWT bundles and starts them before Kestrel.
    WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.Logging.ClearProviders();
    builder.Services.AddSpiffe(o => o.WorkloadApi.Address = address);              // the embedded agent (or SPIFFE_ENDPOINT_SOCKET)
    builder.Services.AddAuthentication()
        .AddSpiffeX509()                                                            // the caller = the verified mTLS peer
        .AddSpiffeJwt(o => o.Audiences = [Audience]);                               // Authorization: Bearer <JWT-SVID>
    builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true);          // "Frontend" from Spiffe:Authorization:Policies
    builder.Services.AddAuthorization(o => o.AddPolicy("FrontendWithJwt", p => p.RequireJwtSvidBoundToPeer().RequireSpiffeId(frontendId)));
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseSpiffeMtls())); // admits Spiffe:Authorization
    backendApp = builder.Build();
    backendApp.MapGet("/hello", (HttpContext http) =>
        $"{http.GetSpiffeId()}|{http.Features.Get<ISpiffePeerFeature>()?.Certificate.SerialNumber}").RequireAuthorization("Frontend");
    backendApp.MapGet("/jwt", (HttpContext http) => $"{http.GetJwtSvid().Id}|{string.Join(",", http.GetJwtSvid().Audience)}")
        .RequireAuthorization("FrontendWithJwt"); // both: the mTLS peer and a JWT-SVID whose subject is that peer
    X509Source backend = backendApp.Services.GetRequiredService<X509Source>();
    await backendApp.StartAsync();
    var baseAddress = new Uri(backendApp.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    Log("backend", $"listening on {baseAddress} as {backend.GetX509Svid().Id} with mutual TLS; admits only {frontendId}");

    // Each workload's HttpClient is built on the SDK's handler: it presents the workload's current
    // SVID (with intermediates), accepts only the backend's ID, and moves new connections to a new
    // SVID after each rotation while requests in flight finish on the old connection.
    HttpClient ClientFor(X509Source source, HttpMessageHandler? outer = null) =>
        new(outer ?? new SpiffeHttpHandler(source, source, SpiffeIdAuthorizer.Exact(backendId)))
        { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };

    using HttpClient frontendHttp = ClientFor(frontend);
    using HttpClient intruderHttp = ClientFor(intruder);

    int rotations = 0;
    frontend.Updated += (_, e) =>
    {
        Interlocked.Increment(ref rotations);
        Log("agent", $"rotated frontend SVID -> serial {e.Context.Svids.First(s => s.Id == frontendId).Certificate.SerialNumber}");
    };

    backend.Updated += (_, e) =>
        Log("agent", $"rotated backend SVID -> serial {e.Context.Svids.First(s => s.Id == backendId).Certificate.SerialNumber} (new handshakes present it)");

    int accepted = 0, failed = 0, refused = 0, calls = 0;
    string? lastSeen = null;
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(45));
    using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
    while (Volatile.Read(ref rotations) < WantedRotations && await timer.WaitForNextTickAsync(deadline.Token))
    {
        calls++;
        {
            try
            {
                string[] reply = (await frontendHttp.GetStringAsync(new Uri("/hello", UriKind.Relative), deadline.Token)).Split('|');
                accepted++;
                if (reply[1] != lastSeen)
                {
                    lastSeen = reply[1];
                    Log("backend", $"served {reply[0]} presenting serial {lastSeen}");
                }
            }
            catch (HttpRequestException e)
            {
                failed++;
                Log("frontend", $"call FAILED: {e.Message}");
            }
        }

        if (calls % 10 == 1)
        {
            try
            {
                await intruderHttp.GetStringAsync(new Uri("/hello", UriKind.Relative), deadline.Token);
                failed++;
                Log("backend", "intruder was ADMITTED");
            }
            catch (HttpRequestException e)
            {
                refused++;
                Log("intruder", $"refused in the TLS handshake ({e.InnerException?.GetType().Name ?? e.GetType().Name})");
            }
        }
    }

    // One request authenticated by a JWT-SVID: the SDK's bearer handler fetches the frontend's token
    // for the backend's audience (cached, refreshed at half-life) and sends it over mutual TLS.
    bool jwtOk;
    using (HttpClient http = ClientFor(frontend, new JwtSvidBearerHandler(jwt, [Audience], frontendId, new SpiffeHttpHandler(frontend, frontend, SpiffeIdAuthorizer.Exact(backendId)))))
    using (HttpResponseMessage response = await http.GetAsync(new Uri("/jwt", UriKind.Relative), deadline.Token))
    {
        string body = await response.Content.ReadAsStringAsync(deadline.Token);
        jwtOk = response.IsSuccessStatusCode && body.StartsWith(frontendId.ToString() + "|", StringComparison.Ordinal);
        Log("backend", $"JWT-SVID call {(jwtOk ? "accepted" : "REFUSED")}: {(int)response.StatusCode} {body}");
    }

    bool success = failed == 0 && rotations >= WantedRotations && refused > 0 && jwtOk;
    Console.WriteLine();
    Console.WriteLine($"{(success ? "demo OK" : "demo FAILED")}: {accepted}/{calls} mTLS calls served across {rotations} rotations, {failed} failed, intruder refused {refused} time(s), JWT-SVID call {(jwtOk ? "accepted" : "refused")}.");
    return success ? 0 : 1;
}
catch (Exception e) when (e is SpiffeException or OperationCanceledException or HttpRequestException)
{
    Console.Error.WriteLine($"demo FAILED: {e.Message}");
    return 1;
}
finally
{
    if (backendApp is not null)
    {
        await backendApp.StopAsync();
        await backendApp.DisposeAsync();
    }

    if (agent is not null)
    {
        await agent.DisposeAsync();
    }
}

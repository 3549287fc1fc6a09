// The SDK's main job, end to end, with no SPIRE: an embedded Workload API issues short-lived
// SVIDs to three workloads; "backend" authenticates callers by X509-SVID with the bundle of their
// own trust domain and admits only "frontend"; the SVIDs rotate under live calls; an "intruder"
// with a valid SVID of another ID is refused; one call is authenticated by a JWT-SVID.
// With SPIFFE_ENDPOINT_SOCKET set, the demo uses that agent instead (it must issue the three IDs).
using System.Diagnostics;
using Spiffe;
using Spiffe.Jwt;
using Spiffe.Testing;
using Spiffe.WorkloadApi;
using Spiffe.X509;

var trustDomain = TrustDomain.Parse("example.org");
SpiffeId frontendId = SpiffeId.FromSegments(trustDomain, "frontend");
SpiffeId backendId = SpiffeId.FromSegments(trustDomain, "backend");
SpiffeId intruderId = SpiffeId.FromSegments(trustDomain, "intruder");
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

try
{
    X509SourceOptions For(SpiffeId id) => new()
    {
        ClientOptions = new WorkloadApiClientOptions { Address = address },
        Picker = svids => svids.FirstOrDefault(s => s.Id == id) ?? throw new InvalidOperationException($"The agent does not issue {id}."),
    };

    await using X509Source frontend = await X509Source.CreateAsync(For(frontendId));
    await using X509Source backend = await X509Source.CreateAsync(For(backendId));
    await using X509Source intruder = await X509Source.CreateAsync(For(intruderId));
    await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = address } });

    // The backend: authenticate the caller with the bundle of the caller's own trust domain,
    // then authorize exactly one ID. Everyone else is denied.
    var validator = new X509SvidValidator(backend);
    SpiffeIdAuthorizer authorizer = SpiffeIdAuthorizer.Exact(frontendId);
    (bool Admitted, string Detail) Admit(X509Svid caller)
    {
        X509SvidValidationResult result = validator.Validate(caller.Chain);
        if (!result.IsValid)
        {
            return (false, $"not authenticated: {result.Error}");
        }

        return authorizer.IsAuthorized(result.SpiffeId!)
            ? (true, $"{result.SpiffeId} authenticated and authorized")
            : (false, $"{result.SpiffeId} authenticated but not authorized ({authorizer})");
    }

    int rotations = 0;
    frontend.Updated += (_, e) =>
    {
        Interlocked.Increment(ref rotations);
        Log("frontend", $"rotated: now presents serial {e.Context.Svids.First(s => s.Id == frontendId).Certificate.SerialNumber}");
    };

    int accepted = 0, failed = 0, refused = 0;
    string? lastSerial = null;
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(45));
    using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
    while (Volatile.Read(ref rotations) < WantedRotations && await timer.WaitForNextTickAsync(deadline.Token))
    {
        X509Svid presented = frontend.GetX509Svid();
        (bool ok, string detail) = Admit(presented);
        if (ok)
        {
            accepted++;
            if (presented.Certificate.SerialNumber != lastSerial)
            {
                lastSerial = presented.Certificate.SerialNumber;
                Log("backend", $"call from frontend accepted: {detail} (serial {lastSerial})");
            }
        }
        else
        {
            failed++;
            Log("backend", $"call from frontend FAILED: {detail}");
        }

        if (accepted % 8 == 1)
        {
            (bool intruderOk, string intruderDetail) = Admit(intruder.GetX509Svid());
            if (intruderOk)
            {
                failed++;
                Log("backend", $"intruder ADMITTED: {intruderDetail}");
            }
            else
            {
                refused++;
                Log("backend", $"call from intruder refused: {intruderDetail}");
            }
        }
    }

    // One request authenticated by a JWT-SVID: the frontend fetches a token for the backend's
    // audience; the backend validates it against the JWT bundles.
    JwtSvid token = await jwt.FetchJwtSvidAsync(["spiffe://example.org/backend"], frontendId);
    JwtSvid verified = JwtSvid.ParseAndValidate(token.Token, jwt, ["spiffe://example.org/backend"]);
    bool jwtOk = authorizer.IsAuthorized(verified.Id);
    Log("backend", $"JWT-SVID call {(jwtOk ? "accepted" : "REFUSED")}: subject {verified.Id}, audience {string.Join(",", verified.Audience)}, expires {verified.ExpiresAt:HH:mm:ss}");

    bool success = failed == 0 && rotations >= WantedRotations && refused > 0 && jwtOk;
    Console.WriteLine();
    Console.WriteLine($"{(success ? "demo OK" : "demo FAILED")}: {accepted} frontend calls accepted across {rotations} rotations, {failed} failed, intruder refused {refused} time(s), JWT-SVID call {(jwtOk ? "accepted" : "refused")}.");
    Console.WriteLine("(X509-SVID peer validation shown in-process; mutual TLS with Kestrel and HttpClient arrives with the TLS work.)");
    return success ? 0 : 1;
}
catch (Exception e) when (e is SpiffeException or OperationCanceledException)
{
    Console.Error.WriteLine($"demo FAILED: {e.Message}");
    return 1;
}
finally
{
    if (agent is not null)
    {
        await agent.DisposeAsync();
    }
}

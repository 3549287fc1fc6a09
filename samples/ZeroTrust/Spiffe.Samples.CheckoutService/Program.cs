// checkout-service: calls payment-processor over SPIFFE mTLS (its X509-SVID) with a JWT-SVID for
// audience "payment-processor" on every request (Authorization: Bearer), and prints each answer:
//   checkout-service --processor https://127.0.0.1:8443 [--call "POST /v1/payments"]... [--id ID] [--processor-id ID]
// Exit code 0 when every call got 2xx, 1 otherwise.
using Spiffe;
using Spiffe.Samples;
using Spiffe.Tls;
using Spiffe.WorkloadApi;

string? processor = null;
SpiffeId ownId = SpiffeId.Parse("spiffe://prod.example.com/ns/payments/sa/checkout-service");
SpiffeId processorId = SpiffeId.Parse("spiffe://prod.example.com/ns/payments/sa/payment-processor");
var calls = new List<(HttpMethod Method, string Path)>();
bool withoutJwt = false;
for (int i = 0; i < args.Length; i++)
{
    string value = i + 1 < args.Length ? args[i + 1] : "";
    switch (args[i])
    {
        case "--processor": processor = value; i++; break;
        case "--id": ownId = SpiffeId.Parse(value); i++; break;
        case "--processor-id": processorId = SpiffeId.Parse(value); i++; break;
        case "--call":
            string[] parts = value.Split(' ', 2);
            calls.Add((new HttpMethod(parts[0]), parts[1]));
            i++;
            break;
        case "--without-jwt": withoutJwt = true; break;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}; usage: checkout-service --processor URL [--call \"POST /v1/payments\"]... [--id ID] [--processor-id ID] [--without-jwt]");
            return 2;
    }
}

if (processor is null)
{
    Console.Error.WriteLine("--processor URL is required (the address payment-processor printed)");
    return 2;
}

if (calls.Count == 0)
{
    calls.Add((HttpMethod.Post, "/v1/payments"));
}

try
{
    await using X509Source x509 = await SampleIdentity.OpenAsync(ownId, CancellationToken.None);
    await using JwtSource jwt = await JwtSource.CreateAsync();

    // mTLS with this workload's rotating SVID; the server must be payment-processor.
    HttpMessageHandler handler = new SpiffeHttpHandler(x509, x509, SpiffeIdAuthorizer.Exact(processorId));
    if (!withoutJwt)
    {
        // A JWT-SVID of this workload for the processor's audience, renewed before it expires.
        handler = new JwtSvidBearerHandler(jwt, ["payment-processor"], ownId, handler);
    }

    using var http = new HttpClient(handler) { BaseAddress = new Uri(processor) };
    int failed = 0;
    foreach ((HttpMethod method, string path) in calls)
    {
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
            using HttpResponseMessage response = await http.SendAsync(request);
            string body = await response.Content.ReadAsStringAsync();
            // Retry-After comes with a 503 when the policy decision point is down (fail closed).
            string retryAfter = response.Headers.RetryAfter is { } after ? $" (Retry-After: {after})" : "";
            Console.WriteLine($"{method} {path} -> {(int)response.StatusCode}{retryAfter} {body}");
            failed += response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (HttpRequestException e)
        {
            Console.WriteLine($"{method} {path} -> refused: {e.Message}");
            failed++;
        }
    }

    Console.WriteLine($"{calls.Count - failed}/{calls.Count} calls succeeded");
    return failed == 0 ? 0 : 1;
}
catch (Exception e) when (e is SpiffeException or InvalidOperationException or IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

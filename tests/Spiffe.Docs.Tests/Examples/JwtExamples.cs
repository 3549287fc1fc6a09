using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.Jwt;
using Spiffe.WorkloadApi;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/jwt.md. <see cref="FetchAsync"/> and <see cref="Validate"/> run in ExampleRunTests.</summary>
internal static class JwtExamples
{
    public static async Task CreateSourceAsync()
    {
        // <snippet:jwt-source>
        await using var jwt = await JwtSource.CreateAsync();   // SPIFFE_ENDPOINT_SOCKET; JWT bundles kept current
        // </snippet>
    }

    public static async Task<HttpRequestMessage> FetchAsync(JwtSource jwt)
    {
        // <snippet:jwt-fetch>
        JwtSvid svid = await jwt.GetJwtSvidAsync(new JwtSvidRequest(["spiffe://example.org/backend"]));
        var request = new HttpRequestMessage(HttpMethod.Get, "https://backend.example.org/orders");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", svid.Token);
        // </snippet>
        return request;
    }

    public static async Task<JwtSvid> FetchForSubjectAsync(JwtSource jwt)
    {
        // <snippet:jwt-fetch-subject>
        var request = new JwtSvidRequest(
            ["spiffe://example.org/backend", "spiffe://example.org/audit"],
            subject: SpiffeId.Parse("spiffe://example.org/batch"));   // when the workload has several identities
        JwtSvid svid = await jwt.GetJwtSvidAsync(request);
        // </snippet>
        return svid;
    }

    public static SpiffeId? Validate(JwtSource jwt, string token, ILogger logger)
    {
        // <snippet:jwt-validate>
        var validator = new JwtSvidValidator(jwt, ["spiffe://example.org/backend"]);   // create once, reuse
        JwtSvidValidationResult result = validator.Validate(token);
        if (!result.IsValid)
        {
            logger.LogWarning("JWT-SVID rejected ({Kind}): {Reason}", result.ErrorKind, result.Error);
            return null;                                               // answer 401
        }

        SpiffeId caller = result.Svid!.Id;
        // </snippet>
        return caller;
    }

    public static JwtSvid ParseAndValidate(JwtSource jwt, string token)
    {
        // <snippet:jwt-parse-and-validate>
        JwtSvid svid = JwtSvid.ParseAndValidate(token, jwt, ["spiffe://example.org/backend"]);   // throws JwtSvidException
        // </snippet>
        return svid;
    }

    public static async Task<JwtSvid> AgentValidateAsync(WorkloadApiClient client, string token)
    {
        // <snippet:jwt-agent-validate>
        JwtSvid svid = await client.ValidateJwtSvidAsync(token, "spiffe://example.org/backend");  // the agent checks it
        // </snippet>
        return svid;
    }

    public static void AspNetCore(WebApplicationBuilder builder)
    {
        // <snippet:jwt-aspnetcore>
        builder.Services.AddSpiffe(o => o.Sources.Jwt = true);          // JwtSource in DI: the bundles
        builder.Services.AddAuthentication()
            .AddSpiffeJwt(o => o.Audiences = ["spiffe://example.org/orders"]);
        builder.Services.AddAuthorization(o =>
            o.AddPolicy("jwt-frontend", p => p.AddSpiffeAuthenticationSchemes(includeJwt: true)
                .RequireSpiffeId(SpiffeId.Parse("spiffe://example.org/frontend"))));
        var app = builder.Build();
        app.MapGet("/orders", (HttpContext http) => $"orders for {http.GetJwtSvid().Id}")
            .RequireAuthorization("jwt-frontend");
        // </snippet>
    }

    public static void Shorthand(WebApplication app, JwtSource jwt)
    {
        // <snippet:jwt-shorthand>
        app.MapGet("/report", (HttpContext http) => $"report for {http.GetJwtSvid().Id}")
            .RequireJwtSvid(jwt, "spiffe://example.org/reports");
        // </snippet>
    }
}

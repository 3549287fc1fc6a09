using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>README.md. Compiled only: it binds a fixed port and needs an agent (tests/Spiffe.Samples.Tests runs the Kestrel sample, configured the same way, with the README's commands).</summary>
internal static class ReadmeExamples
{
    public static void QuickStart(string[] args)
    {
        // <snippet:readme-quick-start>
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddSpiffe();                                           // the "Spiffe" section below
        builder.Services.AddAuthentication().AddSpiffeX509();                   // the caller = the peer the TLS handshake verified
        builder.Services.AddSpiffeAuthorization(o => o.DenyByDefault = true);   // policies from Spiffe:Authorization:Policies
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen => listen.UseSpiffeMtls())); // admits Spiffe:Authorization
        var app = builder.Build();
        app.MapGet("/hello", (HttpContext http) => $"hello {http.GetSpiffeId()}").RequireAuthorization("Hello");
        app.Run();
        // </snippet>
    }
}

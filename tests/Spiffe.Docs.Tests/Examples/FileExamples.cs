using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Builder;
using Spiffe.AspNetCore;
using Spiffe.Files;
using Spiffe.Jwt;
using Spiffe.Tls;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/files.md. <see cref="ReadDirectoryAsync"/> runs in ExampleRunTests on files written by a test CA.</summary>
internal static class FileExamples
{
    public static async Task<SpiffeId> ReadDirectoryAsync(string directory)
    {
        // <snippet:files-x509>
        await using var files = await FileX509Source.CreateAsync(new FileX509SourceOptions
        {
            Directory = directory,               // csi-driver-spiffe: tls.crt, tls.key, ca.crt
        });
        SpiffeId me = files.GetX509Svid().Id;
        // </snippet>
        return me;
    }

    public static Task<FileX509Source> SpiffeHelperLayoutAsync()
    {
        // <snippet:files-spiffe-helper>
        return FileX509Source.CreateAsync(new FileX509SourceOptions
        {
            Directory = "/run/spiffe-helper",
            Layout = FileSvidLayout.SpiffeHelper,            // svid.pem, svid_key.pem, svid_bundle.pem
            FederatedBundlesDirectory = "/etc/spiffe/federated", // <trust-domain>.pem or <trust-domain>.json
        });
        // </snippet>
    }

    public static void Kestrel(WebApplicationBuilder builder, FileX509Source files, SpiffeId frontend)
    {
        // <snippet:files-kestrel>
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(8443, listen =>
            listen.UseSpiffeMtls(files, SpiffeIdAuthorizer.Exact(frontend))));
        using var http = new HttpClient(new SpiffeHttpHandler(files, files, SpiffeIdAuthorizer.Exact(frontend)));
        // </snippet>
    }

    public static async Task<JwtSvidValidator> JwtBundleAsync()
    {
        // <snippet:files-jwt>
        await using var bundles = await FileJwtBundleSource.CreateAsync(new FileJwtBundleSourceOptions
        {
            TrustDomain = "example.org",
            Path = "/etc/spiffe/example.org.jwks.json",       // a JWK Set or a SPIFFE bundle document
        });
        var validator = new JwtSvidValidator(bundles, ["spiffe://example.org/backend"]);
        // </snippet>
        return validator;
    }
}

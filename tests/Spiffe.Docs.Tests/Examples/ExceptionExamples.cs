using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Spiffe.Jwt;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Docs.Tests.Examples;

/// <summary>docs/exceptions.md. Each example runs in ExampleRunTests.</summary>
internal static class ExceptionExamples
{
    public static async Task<X509Source?> StartAsync(string address, ILogger logger)
    {
        // <snippet:exceptions-workloadapi>
        try
        {
            return await X509Source.CreateAsync(new X509SourceOptions
            {
                ClientOptions = new WorkloadApiClientOptions { Address = address },
                StartTimeout = TimeSpan.FromSeconds(5),
            });
        }
        catch (WorkloadApiException e) when (e.Kind == WorkloadApiErrorKind.Configuration)
        {
            logger.LogCritical("Fix the address: {Message}", e.Message);            // retrying cannot help
            throw;
        }
        catch (WorkloadApiException e)
        {
            logger.LogError("No SVID yet ({Kind}, retryable: {Retryable}): {Message}", e.Kind, e.IsRetryable, e.Message);
            return null;                                                          // e.g. fail the readiness probe
        }
        // </snippet>
    }

    public static bool IsAllowed(X509SvidValidator validator, IReadOnlyList<X509Certificate2> presentedChain, SpiffeIdAuthorizer authorizer, ILogger logger)
    {
        // <snippet:exceptions-x509-result>
        X509SvidValidationResult peer = validator.Validate(presentedChain);
        switch (peer.ErrorKind)
        {
            case X509SvidErrorKind.None:
                return authorizer.IsAuthorized(peer.SpiffeId!);
            case X509SvidErrorKind.NoBundle:
                logger.LogWarning("Peer from a trust domain we do not federate with: {Error}", peer.Error);
                return false;
            default:
                logger.LogWarning("Invalid X509-SVID ({Kind}): {Error}", peer.ErrorKind, peer.Error);
                return false;
        }
        // </snippet>
    }

    public static X509Svid? Parse(byte[] chainDer, byte[] keyDer, ILogger logger)
    {
        // <snippet:exceptions-x509-parse>
        try
        {
            return X509Svid.Parse(chainDer, keyDer);
        }
        catch (X509SvidException e)
        {
            logger.LogError("Not an X509-SVID ({Kind}): {Message}", e.ErrorKind, e.Message);  // never key material
            return null;
        }
        // </snippet>
    }

    public static JwtSvidErrorKind ParseJwt(string token, Spiffe.Bundles.IJwtBundleSource bundles)
    {
        // <snippet:exceptions-jwt>
        try
        {
            JwtSvid.ParseAndValidate(token, bundles, ["spiffe://example.org/backend"]);
            return JwtSvidErrorKind.None;
        }
        catch (JwtSvidException e)
        {
            return e.ErrorKind;          // e.g. AudienceMismatch, Expired; the message never holds the token
        }
        // </snippet>
    }
}

using System.Globalization;
using System.Net;

namespace Spiffe.Samples;

/// <summary>
/// What the sample services are told on the command line or in <c>SAMPLE_*</c> variables, as
/// configuration keys that override the service's <c>appsettings.json</c>. Options not given leave
/// <c>appsettings.json</c> (and ASP.NET Core's own <c>Spiffe__X509__Id</c>-style variables and
/// <c>--Spiffe:X509:Id</c>-style options) in charge.
/// </summary>
internal sealed record SampleServiceSettings(IReadOnlyDictionary<string, string?> Configuration, IPAddress? Host, int? Port)
{
    /// <summary>The Kestrel endpoint the services declare in <c>appsettings.json</c> and make a SPIFFE mTLS endpoint.</summary>
    public const string EndpointName = "Mtls";

    /// <exception cref="ArgumentException">A bad or unknown option; the message says which (and the usage).</exception>
    public static SampleServiceSettings Parse(string[] args, string program, string policy)
    {
        SampleArguments arguments = SampleArguments.Parse(args, allowConfigurationKeys: true);
        var configuration = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (arguments.GetOptionalSpiffeId("--id", "SAMPLE_SPIFFE_ID") is { } ownId)
        {
            configuration["Spiffe:X509:Id"] = ownId.ToString(); // which SVID to present (spiffe dev-agent issues every ID)
        }

        if (arguments.GetOptionalSpiffeId("--client-id", "SAMPLE_CLIENT_ID") is { } clientId)
        {
            // The one client admitted in the TLS handshake, and by the endpoint's named policy.
            configuration["Spiffe:Authorization:AllowedIds:0"] = clientId.ToString();
            configuration[$"Spiffe:Authorization:Policies:{policy}:AllowedIds:0"] = clientId.ToString();
        }

        if (arguments.GetOptional("--svid-directory", "SAMPLE_SVID_DIRECTORY") is { } directory)
        {
            configuration["Spiffe:Files:Directory"] = directory; // tls.crt, tls.key, ca.crt (csi-driver-spiffe) instead of the Workload API
        }

        string? hostText = arguments.GetOptional("--host", "SAMPLE_HOST");
        IPAddress? host = hostText is null ? null
            : IPAddress.TryParse(hostText, out IPAddress? parsed) ? parsed
            : throw new ArgumentException($"--host (SAMPLE_HOST): '{hostText}' is not an IP address.");
        string? portText = arguments.GetOptional("--port", "SAMPLE_PORT");
        int? port = portText is null ? null
            : int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value <= 65535 ? value // 0: any free port, printed once bound
            : throw new ArgumentException($"--port (SAMPLE_PORT): '{portText}' is not a whole number from 0 to 65535.");
        arguments.ThrowIfUnknownOptions($"{program} [--id spiffe://example.org/backend] [--client-id spiffe://example.org/frontend] [--host 0.0.0.0] [--port 8443] [--svid-directory DIR] [--Spiffe:Key value ...]");
        return new SampleServiceSettings(configuration, host, port);
    }

    /// <summary>
    /// The URL of the <see cref="EndpointName"/> endpoint with <c>--host</c>/<c>--port</c> applied to the one
    /// configured (<c>Kestrel:Endpoints:Mtls:Url</c>), or null when neither is given.
    /// </summary>
    public string? EndpointUrl(string? configuredUrl)
    {
        if (Host is null && Port is null)
        {
            return null;
        }

        var url = new UriBuilder(configuredUrl?.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal) ?? "https://0.0.0.0:8443");
        if (Host is not null)
        {
            url.Host = Host.ToString();
        }

        if (Port is not null)
        {
            url.Port = Port.Value;
        }

        return url.Uri.GetLeftPart(UriPartial.Authority);
    }
}

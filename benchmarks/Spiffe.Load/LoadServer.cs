using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.AspNetCore;
using Spiffe.AspNetCore.Authentication;
using Spiffe.AspNetCore.Authorization;
using Spiffe.WorkloadApi;
using Spiffe.BenchmarkShared;

namespace Spiffe.Load;

/// <summary>
/// The measured process: one Kestrel endpoint on 127.0.0.1 serving <c>GET /</c> → "ok" in one
/// <see cref="ServerMode"/>. The SPIFFE modes take their SVID from the Workload API at
/// <c>SPIFFE_ENDPOINT_SOCKET</c>; the raw mode reads PEM files. It prints <c>LISTENING port</c>,
/// answers each line read from standard input with <c>STATS requests handshakes resumed</c>, and
/// stops when its standard input closes.
/// </summary>
internal static class LoadServer
{
    public const string Role = "server";

    public const string Usage = """
        Spiffe.Load server --mode spiffe-policy|no-auth|aspnetcore-floor --server-id ID --client-id ID   (SVID from SPIFFE_ENDPOINT_SOCKET)
        Spiffe.Load server --mode raw-kestrel-mtls --files DIR                          (svid.pem, svid_key.pem, bundle.pem)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        ServerMode? mode = null;
        SpiffeId? serverId = null, clientId = null;
        string? files = null;
        for (int i = 1; i < args.Length; i += 2)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new FormatException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--mode": mode = ServerModes.Parse(value); break;
                case "--server-id": serverId = SpiffeId.Parse(value); break;
                case "--client-id": clientId = SpiffeId.Parse(value); break;
                case "--files": files = value; break;
                default: throw new FormatException($"Unknown server option {args[i]}.");
            }
        }

        var counters = new ServerCounters();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddProvider(new ConsoleErrorLoggerProvider(counters));
        // Event 301 (a resumed session's leaf accepted from an earlier full validation) is Debug:
        // let it reach the counting provider, which does not format it.
        builder.Logging.AddFilter("Spiffe.Tls", LogLevel.Debug);

        X509Source? source = null;
        try
        {
            switch (mode)
            {
                case ServerMode.SpiffePolicy or ServerMode.NoAuth or ServerMode.FrameworkFloor:
                    SpiffeId own = serverId ?? throw new FormatException("--server-id is required.");
                    source = await X509Source.CreateAsync(new X509SourceOptions
                    {
                        Picker = svids => svids.FirstOrDefault(s => s.Id == own)!,
                        StartTimeout = TimeSpan.FromMinutes(2), // the machine may be busy
                    });
                    ConfigureSpiffe(builder, source, mode.Value, clientId ?? throw new FormatException("--client-id is required."));
                    break;
                case ServerMode.RawKestrelMtls:
                    ConfigureRaw(builder, files ?? throw new FormatException("--files is required."), counters);
                    break;
                default:
                    throw new FormatException("--mode is required.");
            }

            using MeterListener handshakes = ListenToHandshakes(counters);
            await using WebApplication app = builder.Build();
            app.Use((context, next) =>
            {
                Interlocked.Increment(ref counters.Requests);
                return next(context);
            });
            RouteHandlerBuilder endpoint = app.MapGet("/", () => "ok");
            if (mode is ServerMode.SpiffePolicy or ServerMode.FrameworkFloor)
            {
                endpoint.RequireAuthorization("client");
            }

            await app.StartAsync();
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"LISTENING {new Uri(address).Port}"));

            while (await Console.In.ReadLineAsync() is not null)
            {
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"STATS {Interlocked.Read(ref counters.Requests)} {Interlocked.Read(ref counters.Handshakes)} {Interlocked.Read(ref counters.Resumed)}"));
            }

            await app.StopAsync();
            return 0;
        }
        finally
        {
            if (source is not null)
            {
                await source.DisposeAsync();
            }
        }
    }

    private static void ConfigureSpiffe(WebApplicationBuilder builder, X509Source source, ServerMode mode, SpiffeId clientId)
    {
        // Both SPIFFE modes admit any valid SVID at the handshake, so the policy is the only difference.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.UseSpiffeMtls(source, SpiffeIdAuthorizer.Any())));
        if (mode == ServerMode.SpiffePolicy)
        {
            builder.Services.AddAuthentication().AddSpiffeX509();
            builder.Services.AddSpiffeAuthorization();
            builder.Services.AddAuthorization(o => o.AddPolicy("client", p => p.AddSpiffeAuthenticationSchemes().RequireSpiffeId(clientId)));
        }
        else if (mode == ServerMode.FrameworkFloor)
        {
            builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, FixedPrincipalHandler>(FixedPrincipalHandler.SchemeName, null);
            builder.Services.AddAuthorization(o => o.AddPolicy("client", p => p.AddAuthenticationSchemes(FixedPrincipalHandler.SchemeName).RequireAuthenticatedUser()));
        }
    }

    // What a user writes without the SDK: static certificates, RequireCertificate, and SslStream's own chain
    // built with a CustomRootTrust policy (one chain per handshake), accepted when it has no error.
    private static void ConfigureRaw(WebApplicationBuilder builder, string directory, ServerCounters counters)
    {
        X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(Path.Combine(directory, "svid.pem"), Path.Combine(directory, "svid_key.pem"));
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(Path.Combine(directory, "svid.pem"));
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(Path.Combine(directory, "bundle.pem"));
        X509Certificate2[] intermediates = [.. chain.Skip(1)];
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(roots);
        // The client's intermediate is the server's own (one CA issues both), known up front: a resumed
        // session presents only the leaf, and this keeps the raw server able to accept it.
        policy.ExtraStore.AddRange(intermediates);

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                https.ServerCertificateChain = [.. intermediates];
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.OnAuthenticate = (_, options) => options.CertificateChainPolicy = policy.Clone();
                https.ClientCertificateValidation = (_, _, errors) =>
                {
                    Interlocked.Increment(ref counters.Handshakes);
                    return errors == SslPolicyErrors.None;
                };
            });
        }));
    }

    private static MeterListener ListenToHandshakes(ServerCounters counters)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Spiffe.Core" && instrument.Name == "spiffe.tls.handshakes")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "result" && (tag.Value as string) == "accepted")
                {
                    Interlocked.Add(ref counters.Handshakes, value);
                }
            }
        });
        listener.Start();
        return listener;
    }

    private sealed class ServerCounters
    {
        public long Requests;
        public long Handshakes;
        public long Resumed;
    }

    /// <summary>Warnings and errors to standard error (the load shows them); counts event 301.</summary>
    private sealed class ConsoleErrorLoggerProvider(ServerCounters counters) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(counters);

        public void Dispose()
        {
        }

        private sealed class Logger(ServerCounters counters) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (eventId.Id == 301)
                {
                    Interlocked.Increment(ref counters.Resumed);
                }
                else if (logLevel >= LogLevel.Warning)
                {
                    Console.Error.WriteLine($"{logLevel}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}

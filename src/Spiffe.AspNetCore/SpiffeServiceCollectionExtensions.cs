using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spiffe.AspNetCore.Hosting;
using Spiffe.Bundles;
using Spiffe.Files;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.AspNetCore;

/// <summary>Registers the workload's SPIFFE sources as singletons started with the host.</summary>
/// <remarks>
/// <code>
/// builder.Services.AddSpiffe();                          // the "Spiffe" section; SPIFFE_ENDPOINT_SOCKET by default
/// builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(8443, listen => listen.UseSpiffeMtls()));
/// builder.Services.AddHealthChecks().AddSpiffe();
/// </code>
/// Registered: <see cref="WorkloadApiClient"/> (one channel shared by the sources), <see cref="X509Source"/>
/// (also as <see cref="IX509SvidSource"/>, <see cref="IX509BundleSetSource"/> and <see cref="IX509BundleSource"/>;
/// with <c>Spiffe:Files:Directory</c> set, a <see cref="FileX509Source"/> takes its place under those interfaces),
/// <see cref="JwtSource"/>, <see cref="BundleSource"/> and <see cref="IJwtBundleSource"/> (the <see cref="JwtSource"/>
/// when <c>Spiffe:Sources:Jwt</c>, else the <see cref="BundleSource"/>). They log through the app's
/// <see cref="ILoggerFactory"/>, measure through its <see cref="IMeterFactory"/> and use its
/// <see cref="TimeProvider"/> when one is registered. A hosted service waits, before Kestrel accepts
/// connections, for the first state of every source enabled in <see cref="SpiffeOptions.Sources"/>; the
/// container disposes them at shutdown. Resolving a source that is not enabled throws, naming the key to set.
/// </remarks>
public static class SpiffeServiceCollectionExtensions
{
    /// <summary>Adds the SPIFFE sources configured by the <c>Spiffe</c> configuration section.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddSpiffe(this IServiceCollection services) => AddSpiffe(services, static _ => { });

    /// <summary>
    /// Adds the SPIFFE sources configured by the <c>Spiffe</c> configuration section, then by
    /// <paramref name="configure"/> (which wins where both set a value). Calling it again only adds configuration.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static IServiceCollection AddSpiffe(this IServiceCollection services, Action<SpiffeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        if (services.Any(static d => d.ServiceType == typeof(SpiffeSourceStarter)))
        {
            return services;
        }

        services.AddOptions<SpiffeOptions>().BindConfiguration(SpiffeOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SpiffeOptions>, SpiffeOptionsValidator>());

        services.TryAddSingleton(static sp =>
        {
            SpiffeOptions o = sp.GetRequiredService<IOptions<SpiffeOptions>>().Value;
            return WorkloadApiClient.Create(new WorkloadApiClientOptions
            {
                Address = o.WorkloadApi.Address,
                Retry = o.WorkloadApi.Retry,
                LoggerFactory = sp.GetService<ILoggerFactory>(),
                MeterFactory = sp.GetService<IMeterFactory>(),
                TimeProvider = TimeOf(sp),
            });
        });
        services.TryAddSingleton(static sp =>
        {
            if (Options(sp).Files.Enabled)
            {
                throw new InvalidOperationException(
                    $"The X509Source (Workload API) is not run: {SpiffeOptions.SectionName}:Files:Directory is set, so the X509-SVID comes from files. Resolve IX509SvidSource, IX509BundleSetSource or FileX509Source instead, or remove {SpiffeOptions.SectionName}:Files.");
            }

            Require(sp, static s => s.X509, "X509Source", "X509");
            return X509Source.Create(new X509SourceOptions
            {
                Client = sp.GetRequiredService<WorkloadApiClient>(),
                Picker = Options(sp).X509?.Id is { Length: > 0 } id ? PickById(SpiffeId.Parse(id)) : null,
            });
        });
        services.TryAddSingleton(static sp =>
        {
            SpiffeFilesOptions files = Options(sp).Files;
            if (!files.Enabled)
            {
                throw new InvalidOperationException(
                    $"No FileX509Source: {SpiffeOptions.SectionName}:Files:Directory is not set. Set it to the directory holding the SVID, key and bundle files (configuration) or options.Files.Directory (AddSpiffe(options => ...)).");
            }

            return FileX509Source.Create(new FileX509SourceOptions
            {
                Directory = files.Directory,
                Layout = files.Layout,
                CertificateFileName = files.CertificateFileName,
                PrivateKeyFileName = files.PrivateKeyFileName,
                BundleFileName = files.BundleFileName,
                FederatedBundlesDirectory = files.FederatedBundlesDirectory,
                PollInterval = files.PollInterval,
                TimeProvider = TimeOf(sp),
                LoggerFactory = sp.GetService<ILoggerFactory>(),
            });
        });
        services.TryAddSingleton(static sp =>
        {
            Require(sp, static s => s.Jwt, "JwtSource", "Jwt");
            return JwtSource.Create(new JwtSourceOptions { Client = sp.GetRequiredService<WorkloadApiClient>() });
        });
        services.TryAddSingleton(static sp =>
        {
            Require(sp, static s => s.Bundles, "BundleSource", "Bundles");
            return BundleSource.Create(new BundleSourceOptions { Client = sp.GetRequiredService<WorkloadApiClient>() });
        });
        services.TryAddSingleton<IX509SvidSource>(static sp =>
            Options(sp).Files.Enabled ? sp.GetRequiredService<FileX509Source>() : sp.GetRequiredService<X509Source>());
        services.TryAddSingleton<IX509BundleSetSource>(static sp =>
            Options(sp).Files.Enabled ? sp.GetRequiredService<FileX509Source>() : sp.GetRequiredService<X509Source>());
        services.TryAddSingleton<IX509BundleSource>(static sp =>
            Options(sp) switch
            {
                { Files.Enabled: true } => sp.GetRequiredService<FileX509Source>(),
                { Sources.X509: false, Sources.Bundles: true } => sp.GetRequiredService<BundleSource>(),
                _ => sp.GetRequiredService<X509Source>(),
            });
        services.TryAddSingleton<IJwtBundleSource>(static sp =>
            Sources(sp) switch
            {
                { Jwt: true } => sp.GetRequiredService<JwtSource>(),
                { Bundles: true } => sp.GetRequiredService<BundleSource>(),
                _ => throw new InvalidOperationException(
                    $"No JWT bundles: {SpiffeOptions.SectionName}:Sources:Jwt and {SpiffeOptions.SectionName}:Sources:Bundles are both false. Set {SpiffeOptions.SectionName}:Sources:Jwt to true (JWT-SVIDs and JWT bundles) or {SpiffeOptions.SectionName}:Sources:Bundles (bundles only)."),
            });
        services.AddSingleton(static sp => new SpiffeSourceStarter(
            sp,
            sp.GetRequiredService<IOptions<SpiffeOptions>>(),
            sp.GetRequiredService<ILogger<SpiffeSourceStarter>>(),
            TimeOf(sp)));
        services.AddHostedService(static sp => sp.GetRequiredService<SpiffeSourceStarter>());
        return services;
    }

    // Throwing makes the source refuse the update with this message as its last error (X509Source.Accept).
    private static Func<IReadOnlyList<X509Svid>, X509Svid> PickById(SpiffeId id) => svids =>
        svids.FirstOrDefault(s => s.Id == id) ?? throw new InvalidOperationException(
            $"the Workload API issues this workload {string.Join(", ", svids.Select(static s => s.Id.ToString()))} but not {id} ({SpiffeOptions.SectionName}:X509:Id). Register an entry for it, or set {SpiffeOptions.SectionName}:X509:Id to one of those");

    internal static TimeProvider TimeOf(IServiceProvider services) => services.GetService<TimeProvider>() ?? TimeProvider.System;

    private static SpiffeOptions Options(IServiceProvider services) => services.GetRequiredService<IOptions<SpiffeOptions>>().Value;

    private static SpiffeSourcesOptions Sources(IServiceProvider services) => Options(services).Sources;

    private static void Require(IServiceProvider services, Func<SpiffeSourcesOptions, bool> enabled, string type, string key)
    {
        if (!enabled(Sources(services)))
        {
            throw new InvalidOperationException(
                $"The {type} is not enabled: set {SpiffeOptions.SectionName}:Sources:{key} to true (configuration) or options.Sources.{key} = true (AddSpiffe(options => ...)) so that the host starts it and waits for it.");
        }
    }
}

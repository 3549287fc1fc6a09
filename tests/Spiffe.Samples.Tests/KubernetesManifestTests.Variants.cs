using System.Text.RegularExpressions;
using Spiffe.Cli;
using Spiffe.Cli.Helper;
using YamlDotNet.RepresentationModel;

namespace Spiffe.Samples.Tests;

/// <summary>
/// samples/kubernetes/variants (the Kestrel service on a csi-driver-spiffe volume, a legacy app with a
/// <c>spiffe helper</c> sidecar), checked offline like the main manifests, and the settings every sample
/// container is given checked against what the programs read.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private const string SpiffeCliImage = "spiffe-samples/spiffe-cli:dev";
    private static readonly string VariantsReadme = File.ReadAllText(Path.Combine(Directory, "variants", "README.md"));

    [Fact]
    public void Variants_EveryDocument_IsAKubernetesObjectInTheSamplesNamespace()
    {
        Assert.Equal(10, VariantObjects.Count);
        Assert.All(VariantObjects, o =>
        {
            Assert.False(string.IsNullOrEmpty(Scalar(o.Object, "apiVersion")), o.File);
            Assert.False(string.IsNullOrEmpty(Scalar(o.Object, "kind")), o.File);
            Assert.False(string.IsNullOrEmpty(Scalar(o.Object, "metadata", "name")), o.File);
            Assert.Equal("spiffe-samples", Scalar(o.Object, "metadata", "namespace")); // created by 00-namespaces.yaml
        });

        // Applied next to the main manifests: no object may replace one of theirs.
        var main = Objects.Select(o => (Scalar(o.Object, "kind"), Scalar(o.Object, "metadata", "name"))).ToHashSet();
        Assert.All(VariantObjects, o => Assert.DoesNotContain((Scalar(o.Object, "kind"), Scalar(o.Object, "metadata", "name")), main));
    }

    [Fact]
    public void Variants_Workloads_AreWellFormedAndRunAsExistingServiceAccounts()
    {
        YamlMappingNode[] workloads = VariantObjects.Select(o => o.Object).Where(IsWorkload).ToArray();
        Assert.Equal(new[] { "kestrel-client-files", "kestrel-service-files", "legacy-app" }, workloads.Select(w => Scalar(w, "metadata", "name")!).Order(StringComparer.Ordinal));
        Assert.All(workloads, AssertWellFormedWorkload);
        foreach (YamlMappingNode workload in workloads)
        {
            string serviceAccount = Scalar(workload, "spec", "template", "spec", "serviceAccountName")!;
            Assert.Contains(Objects.Concat(VariantObjects), o => Scalar(o.Object, "kind") == "ServiceAccount" && Scalar(o.Object, "metadata", "name") == serviceAccount
                && Scalar(o.Object, "metadata", "namespace") == Scalar(workload, "metadata", "namespace"));
        }
    }

    [Fact]
    public void AllManifests_SampleContainers_SetOnlyVariablesTheProgramReads()
    {
        var builds = BuildPattern().Matches(File.ReadAllText(Path.Combine(Directory, "README.md")))
            .ToDictionary(m => m.Groups["image"].Value, m => (Folder: m.Groups["folder"].Value, Project: m.Groups["project"].Value));
        int checkedContainers = 0;
        foreach (YamlMappingNode workload in Objects.Concat(VariantObjects).Select(o => o.Object).Where(IsWorkload))
        {
            foreach (YamlMappingNode container in Containers(workload))
            {
                if (!builds.TryGetValue(Scalar(container, "image")!, out var build))
                {
                    continue; // SPIRE, the CSI driver, nginx, the spiffe tool: not sample programs
                }

                string sources = string.Concat(
                    System.IO.Directory.GetFiles(Path.Combine(Directory, "..", build.Folder, build.Project), "*.cs")
                        .Concat(System.IO.Directory.GetFiles(Path.Combine(Directory, "..", "Shared"), "*.cs"))
                        .Select(File.ReadAllText));
                foreach (YamlMappingNode variable in Sequence(container, "env"))
                {
                    string name = Scalar(variable, "name")!;
                    Assert.True(
                        name == "SPIFFE_ENDPOINT_SOCKET" || sources.Contains($"\"{name}\"", StringComparison.Ordinal),
                        $"{Scalar(workload, "metadata", "name")}: {build.Project} reads no variable {name}");
                }

                checkedContainers++;
            }
        }

        Assert.Equal(SampleWorkloads.Length + 2, checkedContainers); // the four sample Deployments and the two on csi-driver-spiffe files
    }

    [Theory]
    [InlineData("kestrel-service-files")]
    [InlineData("kestrel-client-files")]
    public void CsiDriverSpiffeVariant_ReadsTheVolumeFilesUnderTheIdTheDriverIssues(string name)
    {
        YamlMappingNode deployment = VariantWorkload(name);
        YamlMappingNode container = Containers(deployment).Single();
        YamlMappingNode volume = Sequence(deployment, "spec", "template", "spec", "volumes").Single(v => Node(v, "csi") is not null);
        Assert.Equal("spiffe.csi.cert-manager.io", Scalar(volume, "csi", "driver"));
        string mountPath = Sequence(container, "volumeMounts").Single(m => Scalar(m, "name") == Scalar(volume, "name")) is var mount ? Scalar(mount, "mountPath")! : "";
        Assert.Equal(mountPath, Env(container, "SAMPLE_SVID_DIRECTORY"));
        Assert.DoesNotContain(Sequence(container, "env"), e => Scalar(e, "name") == "SPIFFE_ENDPOINT_SOCKET");

        // csi-driver-spiffe names the pod spiffe://<trust domain>/ns/<namespace>/sa/<service account>.
        string ns = Scalar(deployment, "metadata", "namespace")!;
        string serviceAccount = Scalar(deployment, "spec", "template", "spec", "serviceAccountName")!;
        Assert.Equal($"spiffe://example.org/ns/{ns}/sa/{serviceAccount}", Env(container, "SAMPLE_SPIFFE_ID"));

        // The driver requests the certificate with the pod's service account token: that account may create CertificateRequests.
        YamlMappingNode binding = VariantObjects.Select(o => o.Object).Single(o => Scalar(o, "kind") == "RoleBinding"
            && Sequence(o, "subjects").Any(s => Scalar(s, "kind") == "ServiceAccount" && Scalar(s, "name") == serviceAccount && Scalar(s, "namespace") == ns));
        YamlMappingNode role = VariantObjects.Select(o => o.Object).Single(o => Scalar(o, "kind") == Scalar(binding, "roleRef", "kind") && Scalar(o, "metadata", "name") == Scalar(binding, "roleRef", "name"));
        Assert.Contains(Sequence(role, "rules"), rule =>
            Strings(rule, "apiGroups").Contains("cert-manager.io") && Strings(rule, "resources").Contains("certificaterequests") && Strings(rule, "verbs").Contains("create"));
    }

    [Fact]
    public void CsiDriverSpiffeVariant_ClientAndServiceAdmitEachOtherAndTheClientCallsTheService()
    {
        YamlMappingNode service = Containers(VariantWorkload("kestrel-service-files")).Single();
        YamlMappingNode client = Containers(VariantWorkload("kestrel-client-files")).Single();
        Assert.Equal(Env(client, "SAMPLE_SPIFFE_ID"), Env(service, "SAMPLE_CLIENT_ID"));
        Assert.Equal(Env(service, "SAMPLE_SPIFFE_ID"), Env(client, "SAMPLE_SERVER_ID"));

        YamlMappingNode kubeService = VariantObjects.Select(o => o.Object).Single(o => Scalar(o, "kind") == "Service");
        Assert.Equal("kestrel-service-files", Scalar(kubeService, "spec", "selector", "app"));
        Assert.Equal("kestrel-service-files", Scalar(VariantWorkload("kestrel-service-files"), "spec", "template", "metadata", "labels", "app"));
        YamlMappingNode port = Sequence(kubeService, "spec", "ports").Single();
        Assert.Equal(Env(service, "SAMPLE_PORT"), Scalar(port, "targetPort"));
        Assert.Equal(Env(service, "SAMPLE_PORT"), Sequence(service, "ports").Single() is var containerPort ? Scalar(containerPort, "containerPort") : null);
        Assert.Equal($"https://{Scalar(kubeService, "metadata", "name")}.{Scalar(kubeService, "metadata", "namespace")}.svc.cluster.local:{Scalar(port, "port")}", Env(client, "SAMPLE_SERVER_ADDRESS"));
    }

    [Fact]
    public void HelperSidecarVariant_ConfigParsesWithTheHelperParserAndAgreesWithThePod()
    {
        string text = Scalar(VariantObjects.Select(o => o.Object).Single(o => Scalar(o, "kind") == "ConfigMap" && Scalar(o, "metadata", "name") == "legacy-app-helper"), "data", "helper.conf")!;
        HelperConfig config = HelperConfig.Parse(text); // the spiffe tool's own parser: unknown keys and bad values throw

        YamlMappingNode deployment = VariantWorkload("legacy-app");
        YamlMappingNode pod = (YamlMappingNode)Node(deployment, "spec", "template", "spec")!;
        YamlMappingNode[] helpers = Containers(deployment).Concat(Sequence(deployment, "spec", "template", "spec", "initContainers"))
            .Where(c => Scalar(c, "image") == SpiffeCliImage).ToArray();
        Assert.Equal(2, helpers.Length);
        YamlMappingNode nginx = Containers(deployment).Single(c => Scalar(c, "name") == "nginx");

        // The config file itself reaches the helpers where --config says.
        YamlMappingNode configVolume = Sequence(pod, "volumes").Single(v => Scalar(v, "configMap", "name") == "legacy-app-helper");
        foreach (YamlMappingNode helper in helpers)
        {
            string[] args = Strings(helper, "args");
            string configPath = args[Array.IndexOf(args, "--config") + 1];
            Assert.Equal(Path.GetDirectoryName(configPath), MountPathOf(helper, Scalar(configVolume, "name")!));
            Assert.Equal("helper.conf", Path.GetFileName(configPath));
        }

        // agent_address: the agent's socket file (agent.conf), in the SPIFFE CSI driver volume of the helpers.
        YamlMappingNode socketVolume = Sequence(pod, "volumes").Single(v => Scalar(v, "csi", "driver") == "csi.spiffe.io");
        Assert.Equal(Path.GetFileName(HclString(ConfigFile("spire-agent", "agent.conf"), "socket_path")), Path.GetFileName(config.AgentAddress));
        Assert.All(helpers, h => Assert.Equal(Path.GetDirectoryName(config.AgentAddress), MountPathOf(h, Scalar(socketVolume, "name")!)));

        // cert_dir is one volume, written by the helpers and read by nginx at the paths its configuration names.
        string certVolume = VolumeMountedAt(helpers[0], config.CertDir!);
        Assert.All(helpers, h => Assert.Equal(config.CertDir, MountPathOf(h, certVolume)));
        Assert.Equal(config.CertDir, MountPathOf(nginx, certVolume));
        Assert.NotNull(Node(Sequence(pod, "volumes").Single(v => Scalar(v, "name") == certVolume), "emptyDir"));
        string nginxConf = Scalar(VariantObjects.Select(o => o.Object).Single(o => Scalar(o, "kind") == "ConfigMap" && Scalar(o, "metadata", "name") == "legacy-app-nginx"), "data", "nginx.conf")!;
        Assert.Contains($"ssl_certificate        {config.CertDir}/{config.SvidFileName};", nginxConf, StringComparison.Ordinal);
        Assert.Contains($"ssl_certificate_key    {config.CertDir}/{config.SvidKeyFileName};", nginxConf, StringComparison.Ordinal);
        Assert.Contains($"ssl_client_certificate {config.CertDir}/{config.SvidBundleFileName};", nginxConf, StringComparison.Ordinal);

        // renew_signal reaches nginx's master: its pid file lies where pid_file_name looks, in a volume both containers share,
        // in one process namespace, and all run as one user (a signal to another user's process is refused).
        Assert.Equal("SIGHUP", config.RenewSignal);
        Assert.Null(config.Cmd);
        Assert.Contains($"pid {config.PidFileName};", nginxConf, StringComparison.Ordinal);
        string pidVolume = VolumeMountedAt(nginx, Path.GetDirectoryName(config.PidFileName)!);
        Assert.All(helpers, h => Assert.Equal(Path.GetDirectoryName(config.PidFileName), MountPathOf(h, pidVolume)));
        Assert.Equal("true", Scalar(pod, "shareProcessNamespace"));
        Assert.NotNull(Scalar(pod, "securityContext", "runAsUser"));
        Assert.All(Containers(deployment).Concat(helpers), c => Assert.Null(Node(c, "securityContext", "runAsUser")));
        Assert.Equal("/etc/nginx/nginx.conf", Sequence(nginx, "volumeMounts").Single(m => Scalar(m, "subPath") == "nginx.conf") is var conf ? Scalar(conf, "mountPath") : null);
        Assert.Null(Node(nginx, "args")); // a `pid` given with -g next to the one in nginx.conf would stop nginx ("directive is duplicate")

        // Probes ask the helper's health listener on its port and paths; readiness waits for every file.
        Assert.True(config.HealthChecks.ListenerEnabled);
        YamlMappingNode daemon = Containers(deployment).Single(c => Scalar(c, "image") == SpiffeCliImage);
        Assert.Equal((config.HealthChecks.ReadinessPath, config.HealthChecks.BindPort.ToString(System.Globalization.CultureInfo.InvariantCulture)), (Scalar(daemon, "readinessProbe", "httpGet", "path"), Scalar(daemon, "readinessProbe", "httpGet", "port")));
        Assert.Equal((config.HealthChecks.LivenessPath, config.HealthChecks.BindPort.ToString(System.Globalization.CultureInfo.InvariantCulture)), (Scalar(daemon, "livenessProbe", "httpGet", "path"), Scalar(daemon, "livenessProbe", "httpGet", "port")));

        // SPIRE issues the pod an SVID only with a registration entry for its namespace and service account.
        Assert.Contains(EntryPattern().Matches(VariantsReadme), m => m.Groups["ns"].Value == Scalar(deployment, "metadata", "namespace")
            && m.Groups["sa"].Value == Scalar(pod, "serviceAccountName"));

        // The init container writes once and exits (non-zero on failure); the sidecar keeps the files current.
        YamlMappingNode init = Sequence(deployment, "spec", "template", "spec", "initContainers").Single();
        Assert.Equal(new[] { "--daemon-mode", "false" }, Strings(init, "args")[^2..]);
        Assert.True(config.DaemonMode);
        Assert.DoesNotContain("--daemon-mode", Strings(daemon, "args"));
    }

    [Fact]
    public async Task HelperSidecarVariant_ContainerArgs_AreAcceptedByTheSpiffeTool()
    {
        YamlMappingNode deployment = VariantWorkload("legacy-app");
        string[][] commandLines = Containers(deployment).Concat(Sequence(deployment, "spec", "template", "spec", "initContainers"))
            .Where(c => Scalar(c, "image") == SpiffeCliImage).Select(c => Strings(c, "args")).ToArray();
        Assert.Equal(2, commandLines.Length);
        foreach (string[] args in commandLines)
        {
            // The real command line, parsed and run: it gets past parsing (a bad option or value would exit with 2) into the
            // helper, which stops at reading the configuration file that only the pod has. --help cannot be used for this:
            // it hides parse errors.
            using var error = new StringWriter();
            int exitCode = await SpiffeCli.RunAsync(args, TextWriter.Null, error, _ => null);
            string configPath = args[Array.IndexOf(args, "--config") + 1];
            Assert.True(exitCode == 1 && error.ToString().Contains($"cannot read the configuration file {configPath}", StringComparison.Ordinal), $"spiffe {string.Join(' ', args)}: exit {exitCode}: {error}");

            using var misspelt = new StringWriter();
            Assert.Equal(SpiffeCli.UsageError, await SpiffeCli.RunAsync([.. args, "--deamon-mode", "false"], TextWriter.Null, misspelt, _ => null));
            Assert.Contains("Unrecognized command or argument '--deamon-mode'", misspelt.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void VariantsReadme_BuildsEveryVariantImage()
    {
        var sampleBuilds = BuildPattern().Matches(File.ReadAllText(Path.Combine(Directory, "README.md"))).Select(m => m.Groups["image"].Value).ToHashSet();
        var targetBuilds = TargetBuildPattern().Matches(VariantsReadme).ToDictionary(m => m.Groups["image"].Value, m => m.Groups["target"].Value);
        string dockerfile = File.ReadAllText(Path.Combine(Directory, "Dockerfile"));
        string kindLoad = VariantsReadme[VariantsReadme.IndexOf("kind load docker-image ", StringComparison.Ordinal)..] is var rest ? rest[..rest.IndexOf('\n', StringComparison.Ordinal)] : "";
        string[] images = VariantObjects.Select(o => o.Object).Where(IsWorkload)
            .SelectMany(w => Containers(w).Concat(Sequence(w, "spec", "template", "spec", "initContainers")))
            .Select(c => Scalar(c, "image")!).Where(i => i.StartsWith("spiffe-samples/", StringComparison.Ordinal)).Distinct().ToArray();
        Assert.Equal(new[] { "spiffe-samples/kestrel-client:dev", "spiffe-samples/kestrel-service:dev", SpiffeCliImage }, images.Order(StringComparer.Ordinal));
        foreach (string image in images)
        {
            if (targetBuilds.TryGetValue(image, out string? target))
            {
                Assert.Matches($@"(?m)^FROM \S+ AS {Regex.Escape(target)}$", dockerfile);
                Assert.Contains(" " + image, kindLoad, StringComparison.Ordinal);
            }
            else
            {
                Assert.True(sampleBuilds.Contains(image), $"no README builds {image}");
            }
        }

        // The spiffe-cli stage publishes the tool's project; the sample image stays the Dockerfile's default (last) stage.
        Assert.Contains("dotnet publish src/Spiffe.Cli/Spiffe.Cli.csproj", dockerfile, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Directory, "..", "..", "src", "Spiffe.Cli", "Spiffe.Cli.csproj")));
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/spiffe.dll\"]", dockerfile, StringComparison.Ordinal);
        Assert.EndsWith(" AS sample", dockerfile.ReplaceLineEndings("\n").Split('\n').Last(l => l.StartsWith("FROM ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"docker build -f samples/kubernetes/Dockerfile --target (?<target>\S+) -t (?<image>\S+) ")]
    private static partial Regex TargetBuildPattern();

    private static YamlMappingNode VariantWorkload(string name) =>
        VariantObjects.Select(o => o.Object).Single(o => IsWorkload(o) && Scalar(o, "metadata", "name") == name);

    private static string[] Strings(YamlNode node, params string[] path) =>
        (Node(node, path) as YamlSequenceNode)?.Children.OfType<YamlScalarNode>().Select(s => s.Value!).ToArray() ?? [];

    private static string? MountPathOf(YamlMappingNode container, string volume) =>
        Sequence(container, "volumeMounts").SingleOrDefault(m => Scalar(m, "name") == volume) is { } mount ? Scalar(mount, "mountPath") : null;

    private static string VolumeMountedAt(YamlMappingNode container, string mountPath) =>
        Sequence(container, "volumeMounts").Single(m => Scalar(m, "mountPath") == mountPath) is var mount ? Scalar(mount, "name")! : "";
}

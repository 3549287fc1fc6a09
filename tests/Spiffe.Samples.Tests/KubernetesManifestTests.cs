using System.Reflection;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Spiffe.Samples.Tests;

/// <summary>
/// There is no cluster here, so samples/kubernetes cannot be applied; these tests check what can be
/// checked offline: the manifests parse, and the values that must agree across files do agree.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly string Directory = Path.Combine(
        typeof(KubernetesManifestTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SamplesRoot").Value!,
        "kubernetes");

    private static readonly List<(string File, YamlMappingNode Object)> Objects = LoadObjects(Directory);

    /// <summary>samples/kubernetes/variants: applied on top of the main manifests (they reuse its namespace and service accounts).</summary>
    private static readonly List<(string File, YamlMappingNode Object)> VariantObjects = LoadObjects(Path.Combine(Directory, "variants"));

    /// <summary>The sample pairs deployed to the cluster: 40-kestrel-samples.yaml and 50-grpc-samples.yaml.</summary>
    private static readonly (string Service, string Client)[] SamplePairs = [("kestrel-service", "kestrel-client"), ("grpc-service", "grpc-client")];

    private static readonly string[] SampleWorkloads = SamplePairs.SelectMany(p => new[] { p.Service, p.Client }).ToArray();

    [Fact]
    public void Manifests_EveryDocument_IsAKubernetesObjectWithKindAndName()
    {
        Assert.Equal(29, Objects.Count);
        Assert.All(Objects, o =>
        {
            Assert.False(string.IsNullOrEmpty(Scalar(o.Object, "apiVersion")), o.File);
            Assert.False(string.IsNullOrEmpty(Scalar(o.Object, "kind")), o.File);
            Assert.False(string.IsNullOrEmpty(Scalar(o.Object, "metadata", "name")), o.File);
        });
    }

    [Fact]
    public void Manifests_Workloads_SelectorsMatchTemplateLabelsAndMountsHaveVolumes()
    {
        YamlMappingNode[] workloads = Objects.Select(o => o.Object).Where(IsWorkload).ToArray();
        Assert.Equal(7, workloads.Length);
        Assert.All(workloads, AssertWellFormedWorkload);
    }

    [Fact]
    public void Manifests_SampleDeployments_FindTheAgentSocketThroughTheCsiVolume()
    {
        string agentConf = ConfigFile("spire-agent", "agent.conf");
        string socketPath = HclString(agentConf, "socket_path");
        string socketDirectory = Path.GetDirectoryName(socketPath)!;
        string csiDriver = Objects.Single(o => Scalar(o.Object, "kind") == "CSIDriver").Object is var driver ? Scalar(driver, "metadata", "name")! : "";
        YamlMappingNode csiDaemonSet = Workload("spiffe-csi-driver");
        Assert.Contains(Sequence(csiDaemonSet, "spec", "template", "spec", "volumes"), v => Scalar(v, "hostPath", "path") == socketDirectory);
        Assert.Contains(Sequence(csiDaemonSet, "spec", "template", "spec", "volumes"), v => Scalar(v, "hostPath", "path") == $"/var/lib/kubelet/plugins/{csiDriver}");
        Assert.Contains(Sequence(Workload("spire-agent"), "spec", "template", "spec", "volumes"), v => Scalar(v, "hostPath", "path") == socketDirectory);

        foreach (string sample in SampleWorkloads)
        {
            YamlMappingNode deployment = Workload(sample);
            YamlMappingNode volume = Sequence(deployment, "spec", "template", "spec", "volumes").Single(v => Node(v, "csi") is not null);
            Assert.Equal(csiDriver, Scalar(volume, "csi", "driver"));
            YamlMappingNode container = Containers(deployment).Single();
            string mountPath = Sequence(container, "volumeMounts").Single(m => Scalar(m, "name") == Scalar(volume, "name")).Children[new YamlScalarNode("mountPath")].ToString();
            Assert.Equal($"unix://{mountPath}/{Path.GetFileName(socketPath)}", Env(container, "SPIFFE_ENDPOINT_SOCKET"));
        }
    }

    [Fact]
    public void Manifests_ServerAndAgent_AgreeOnTrustDomainClusterAndTokenAudience()
    {
        string server = ConfigFile("spire-server", "server.conf");
        string agent = ConfigFile("spire-agent", "agent.conf");

        Assert.Equal("example.org", HclString(server, "trust_domain"));
        Assert.Equal("example.org", HclString(agent, "trust_domain"));
        string cluster = HclString(agent, "cluster");
        Assert.Contains($"\"{cluster}\" = {{", server, StringComparison.Ordinal);
        Assert.Contains("service_account_allow_list = [\"spire:spire-agent\"]", server, StringComparison.Ordinal);
        Assert.Equal("spire-server", HclString(agent, "server_address"));
        Assert.Equal("/run/spire/bundle/bundle.crt", HclString(agent, "trust_bundle_path"));
        Assert.Contains("config_map = \"spire-bundle\"", server, StringComparison.Ordinal);
        YamlMappingNode token = Sequence(Workload("spire-agent"), "spec", "template", "spec", "volumes").Single(v => Scalar(v, "name") == "spire-token");
        Assert.Equal("spire-server", Scalar((YamlMappingNode)((YamlSequenceNode)Node(token, "projected", "sources")!).Children[0], "serviceAccountToken", "audience"));
    }

    [Fact]
    public void RegistrationEntries_SelectTheSampleServiceAccountsAndTheirConfiguredIds()
    {
        string script = File.ReadAllText(Path.Combine(Directory, "register-entries.sh"));
        var entries = EntryPattern().Matches(script).Select(m => (Id: m.Groups["id"].Value, Ns: m.Groups["ns"].Value, Sa: m.Groups["sa"].Value)).ToArray();
        Assert.Equal(SampleWorkloads.Length, entries.Length);
        Assert.Equal(entries.Length, entries.Select(e => e.Id).Distinct(StringComparer.Ordinal).Count()); // no ID shared across pairs
        Assert.Equal(entries.Length, entries.Select(e => (e.Ns, e.Sa)).Distinct().Count());

        foreach (string sample in SampleWorkloads)
        {
            YamlMappingNode deployment = Workload(sample);
            string serviceAccount = Scalar(deployment, "spec", "template", "spec", "serviceAccountName")!;
            string ns = Scalar(deployment, "metadata", "namespace")!;
            string id = Env(Containers(deployment).Single(), "SAMPLE_SPIFFE_ID");
            Assert.Contains((id, ns, serviceAccount), entries);
            Assert.Contains(Objects, o => Scalar(o.Object, "kind") == "ServiceAccount" && Scalar(o.Object, "metadata", "name") == serviceAccount && Scalar(o.Object, "metadata", "namespace") == ns);
        }

        // In each pair the service admits exactly the client's ID, and the client expects exactly the service's.
        foreach ((string serviceName, string clientName) in SamplePairs)
        {
            YamlMappingNode service = Containers(Workload(serviceName)).Single();
            YamlMappingNode client = Containers(Workload(clientName)).Single();
            Assert.Equal(Env(client, "SAMPLE_SPIFFE_ID"), Env(service, "SAMPLE_CLIENT_ID"));
            Assert.Equal(Env(service, "SAMPLE_SPIFFE_ID"), Env(client, "SAMPLE_SERVER_ID"));
        }

        Assert.Contains("-parentID spiffe://example.org/ns/spire/sa/spire-agent", script, StringComparison.Ordinal);
        Assert.Contains("-selector k8s_psat:cluster:" + HclString(ConfigFile("spire-agent", "agent.conf"), "cluster"), script, StringComparison.Ordinal);
    }

    [Fact]
    public void Manifests_Services_SelectOneWorkloadAndReachItsPort()
    {
        YamlMappingNode[] services = Objects.Select(o => o.Object).Where(o => Scalar(o, "kind") == "Service").ToArray();
        Assert.Equal(3, services.Length);
        foreach (YamlMappingNode service in services)
        {
            var selector = (YamlMappingNode)Node(service, "spec", "selector")!;
            YamlMappingNode workload = Objects.Select(o => o.Object).Single(o =>
                Scalar(o, "kind") is "Deployment" or "DaemonSet" or "StatefulSet"
                && Scalar(o, "metadata", "namespace") == Scalar(service, "metadata", "namespace")
                && Node(o, "spec", "template", "metadata", "labels") is YamlMappingNode labels
                && selector.Children.All(l => labels.Children.TryGetValue(l.Key, out YamlNode? value) && value.ToString() == l.Value.ToString()));
            HashSet<string> containerPorts = Containers(workload).SelectMany(c => Sequence(c, "ports")).Select(p => Scalar(p, "containerPort")!).ToHashSet();
            Assert.All(Sequence(service, "spec", "ports"), p => Assert.Contains(Scalar(p, "targetPort")!, containerPorts)); // numeric targetPorts: one of the pods' containerPorts
        }

        // Each sample service listens on its Service's port, and its client calls that Service by its cluster DNS name.
        foreach ((string serviceName, string clientName) in SamplePairs)
        {
            YamlMappingNode service = services.Single(s => Scalar(s, "metadata", "name") == serviceName);
            YamlMappingNode port = Sequence(service, "spec", "ports").Single();
            Assert.Equal(Scalar(port, "targetPort"), Env(Containers(Workload(serviceName)).Single(), "SAMPLE_PORT"));
            Assert.Equal(
                $"https://{serviceName}.{Scalar(service, "metadata", "namespace")}.svc.cluster.local:{Scalar(port, "port")}",
                Env(Containers(Workload(clientName)).Single(), "SAMPLE_SERVER_ADDRESS"));
        }
    }

    [Fact]
    public void Readme_BuildsEverySampleImageFromAnExistingProject_AndKustomizationListsEveryManifest()
    {
        string readme = File.ReadAllText(Path.Combine(Directory, "README.md"));
        string kindLoad = readme[readme.IndexOf("kind load docker-image ", StringComparison.Ordinal)..] is var rest ? rest[..rest.IndexOf("```", StringComparison.Ordinal)] : "";
        var builds = BuildPattern().Matches(readme).ToDictionary(m => m.Groups["image"].Value, m => (Folder: m.Groups["folder"].Value, Project: m.Groups["project"].Value));
        foreach (string sample in SampleWorkloads)
        {
            string image = Scalar(Containers(Workload(sample)).Single(), "image")!;
            Assert.True(builds.TryGetValue(image, out var build), $"README builds no image {image}");
            Assert.True(File.Exists(Path.Combine(Directory, "..", build.Folder, build.Project, build.Project + ".csproj")), $"{image}: no project {build.Folder}/{build.Project}");
            Assert.Contains(" " + image, kindLoad, StringComparison.Ordinal);
        }

        string kustomization = File.ReadAllText(Path.Combine(Directory, "kustomization.yaml"));
        Assert.Equal(
            Objects.Select(o => o.File).Distinct().Order(StringComparer.Ordinal).ToArray(),
            ResourcePattern().Matches(kustomization).Select(m => m.Groups["file"].Value).Order(StringComparer.Ordinal).ToArray());
    }

    [GeneratedRegex(@"--build-arg FOLDER=(?<folder>\S+) \\\s+--build-arg PROJECT=(?<project>\S+) -t (?<image>\S+) ")]
    private static partial Regex BuildPattern();

    [GeneratedRegex(@"^\s*-\s*(?<file>\S+\.yaml)\s*$", RegexOptions.Multiline)]
    private static partial Regex ResourcePattern();

    [GeneratedRegex(@"-spiffeID (?<id>\S+) \\\s+-selector k8s:ns:(?<ns>\S+) \\\s+-selector k8s:sa:(?<sa>\S+)")]
    private static partial Regex EntryPattern();

    private static List<(string, YamlMappingNode)> LoadObjects(string directory)
    {
        var objects = new List<(string, YamlMappingNode)>();
        foreach (string file in System.IO.Directory.GetFiles(directory, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml").Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file))
            {
                stream.Load(reader);
            }

            objects.AddRange(stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().Select(n => (Path.GetFileName(file), n)));
        }

        return objects;
    }

    private static bool IsWorkload(YamlMappingNode o) => Scalar(o, "kind") is "Deployment" or "DaemonSet" or "StatefulSet";

    /// <summary>Selector labels on the pod template, and every volume mount (init containers too) backed by a volume.</summary>
    private static void AssertWellFormedWorkload(YamlMappingNode workload)
    {
        string name = Scalar(workload, "metadata", "name")!;
        var selector = (YamlMappingNode)Node(workload, "spec", "selector", "matchLabels")!;
        var labels = (YamlMappingNode)Node(workload, "spec", "template", "metadata", "labels")!;
        Assert.All(selector.Children, label => Assert.Equal(label.Value.ToString(), labels.Children[label.Key].ToString()));

        HashSet<string> volumes = Sequence(workload, "spec", "template", "spec", "volumes").Select(v => Scalar(v, "name")!).ToHashSet();
        HashSet<string> claims = Sequence(workload, "spec", "volumeClaimTemplates").Select(v => Scalar(v, "metadata", "name")!).ToHashSet();
        foreach (YamlMappingNode container in Containers(workload).Concat(Sequence(workload, "spec", "template", "spec", "initContainers")))
        {
            foreach (YamlMappingNode mount in Sequence(container, "volumeMounts"))
            {
                string volume = Scalar(mount, "name")!;
                Assert.True(volumes.Contains(volume) || claims.Contains(volume), $"{name}: volume mount {volume} has no volume");
            }
        }
    }

    private static YamlMappingNode Workload(string name) =>
        Objects.Select(o => o.Object).Single(o => Scalar(o, "kind") is "Deployment" or "DaemonSet" or "StatefulSet" && Scalar(o, "metadata", "name") == name);

    private static IEnumerable<YamlMappingNode> Containers(YamlMappingNode workload) => Sequence(workload, "spec", "template", "spec", "containers");

    private static string ConfigFile(string configMap, string key) =>
        Scalar(Objects.Select(o => o.Object).Single(o => Scalar(o, "kind") == "ConfigMap" && Scalar(o, "metadata", "name") == configMap), "data", key)!;

    private static string Env(YamlMappingNode container, string name) =>
        Sequence(container, "env").Single(e => Scalar(e, "name") == name) is var variable ? Scalar(variable, "value")! : "";

    private static string HclString(string config, string key)
    {
        Match match = Regex.Match(config, $@"^\s*{Regex.Escape(key)}\s*=\s*""(?<value>[^""]*)""", RegexOptions.Multiline);
        Assert.True(match.Success, $"{key} is not set");
        return match.Groups["value"].Value;
    }

    private static YamlNode? Node(YamlNode node, params string[] path)
    {
        foreach (string key in path)
        {
            if (node is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? next))
            {
                return null;
            }

            node = next;
        }

        return node;
    }

    private static string? Scalar(YamlNode node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    private static IEnumerable<YamlMappingNode> Sequence(YamlNode node, params string[] path) =>
        (Node(node, path) as YamlSequenceNode)?.Children.OfType<YamlMappingNode>() ?? [];
}

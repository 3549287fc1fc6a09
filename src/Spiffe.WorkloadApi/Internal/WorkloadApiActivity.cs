using System.Diagnostics;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// Traces of Workload API calls (ActivitySource <c>Spiffe.WorkloadApi</c>): one client span per
/// unary call or one-shot fetch, and one per stream (re)connect, ending at the first message. No
/// span per TLS handshake (Kestrel and SslStream record those).
/// </summary>
internal static class WorkloadApiActivity
{
    public const string SourceName = "Spiffe.WorkloadApi";

    private static readonly ActivitySource s_source = new(SourceName, typeof(WorkloadApiActivity).Assembly.GetName().Version?.ToString());

    /// <summary>Starts a span named like OpenTelemetry's RPC spans (<c>SpiffeWorkloadAPI/FetchX509SVID</c>), or null when nobody listens.</summary>
    public static Activity? Start(string operation, WorkloadApiAddress address)
    {
        if (!s_source.HasListeners())
        {
            return null;
        }

        Activity? activity = s_source.StartActivity("SpiffeWorkloadAPI/" + operation, ActivityKind.Client);
        if (activity is not null && activity.IsAllDataRequested)
        {
            activity.SetTag("rpc.system", "grpc");
            activity.SetTag("rpc.service", "SpiffeWorkloadAPI");
            activity.SetTag("rpc.method", operation);
            activity.SetTag("server.address", address.ToString());
        }

        return activity;
    }

    /// <summary>Marks the span failed with the error's kind and gRPC status (the message names no key material).</summary>
    public static void Fail(Activity? activity, WorkloadApiException error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        activity.SetTag("error.type", error.Kind.ToString());
        if (error.StatusCode is { } status)
        {
            activity.SetTag("rpc.grpc.status_code", (int)status);
        }
    }
}

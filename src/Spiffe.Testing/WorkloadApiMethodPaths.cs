namespace Spiffe.Testing;

/// <summary>Maps <see cref="WorkloadApiMethod"/> to the gRPC request path on the wire.</summary>
internal static class WorkloadApiMethodPaths
{
    public static string ToPath(this WorkloadApiMethod method) => method switch
    {
        WorkloadApiMethod.FetchX509Svid => "/SpiffeWorkloadAPI/FetchX509SVID",
        WorkloadApiMethod.FetchX509Bundles => "/SpiffeWorkloadAPI/FetchX509Bundles",
        WorkloadApiMethod.FetchJwtSvid => "/SpiffeWorkloadAPI/FetchJWTSVID",
        WorkloadApiMethod.FetchJwtBundles => "/SpiffeWorkloadAPI/FetchJWTBundles",
        WorkloadApiMethod.ValidateJwtSvid => "/SpiffeWorkloadAPI/ValidateJWTSVID",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown Workload API method."),
    };
}

namespace Spiffe.Testing;

/// <summary>The five RPCs of the SPIFFE Workload API, as served by <see cref="WorkloadApiServer"/>.</summary>
public enum WorkloadApiMethod
{
    /// <summary><c>/SpiffeWorkloadAPI/FetchX509SVID</c>: server stream of X509-SVIDs and bundles.</summary>
    FetchX509Svid,

    /// <summary><c>/SpiffeWorkloadAPI/FetchX509Bundles</c>: server stream of X.509 bundles.</summary>
    FetchX509Bundles,

    /// <summary><c>/SpiffeWorkloadAPI/FetchJWTSVID</c>: unary, JWT-SVIDs for audiences.</summary>
    FetchJwtSvid,

    /// <summary><c>/SpiffeWorkloadAPI/FetchJWTBundles</c>: server stream of JWT bundles (JWK Sets).</summary>
    FetchJwtBundles,

    /// <summary><c>/SpiffeWorkloadAPI/ValidateJWTSVID</c>: unary, the agent validates a JWT-SVID.</summary>
    ValidateJwtSvid,
}

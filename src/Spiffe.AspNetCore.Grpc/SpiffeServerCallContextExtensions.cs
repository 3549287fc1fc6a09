using System.Diagnostics.CodeAnalysis;
using Grpc.Core;

namespace Spiffe.AspNetCore;

/// <summary>
/// The caller's SPIFFE ID in a gRPC service method hosted by ASP.NET Core (Grpc.AspNetCore) on an
/// endpoint configured with <see cref="SpiffeListenOptionsExtensions.UseSpiffeMtls"/>.
/// </summary>
/// <remarks>
/// <code>
/// public override Task&lt;Reply&gt; Get(Request request, ServerCallContext context)
/// {
///     SpiffeId caller = context.GetSpiffeId();
///     ...
/// }
/// </code>
/// </remarks>
public static class SpiffeServerCallContextExtensions
{
    /// <summary>
    /// Gets the SPIFFE ID of the client certificate of this call's connection; false when it has
    /// none or it is not an X509-SVID. Like <see cref="SpiffeHttpContextExtensions.TryGetSpiffeId"/>,
    /// it reads what the TLS handshake already authenticated and authorized.
    /// </summary>
    /// <exception cref="InvalidOperationException">The call is not served by ASP.NET Core (no <c>HttpContext</c>).</exception>
    public static bool TryGetSpiffeId(this ServerCallContext context, [NotNullWhen(true)] out SpiffeId? id)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetHttpContext().TryGetSpiffeId(out id);
    }

    /// <summary>The SPIFFE ID of the caller's X509-SVID.</summary>
    /// <exception cref="InvalidOperationException">The connection has no client X509-SVID (not an mTLS endpoint), or the call is not served by ASP.NET Core.</exception>
    public static SpiffeId GetSpiffeId(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetHttpContext().GetSpiffeId();
    }
}

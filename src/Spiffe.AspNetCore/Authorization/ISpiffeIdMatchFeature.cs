namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// The segments a <see cref="SpiffeIdTemplate"/> captured from the caller's SPIFFE ID, set on the
/// request (<c>HttpContext.Features</c>) when a <c>RequireSpiffeIdMatching</c> requirement succeeds.
/// </summary>
/// <remarks>
/// <code>
/// app.MapGet("/ns", (HttpContext c) => c.Features.Get&lt;ISpiffeIdMatchFeature&gt;()!.Values["ns"])
///    .RequireAuthorization(p => p.RequireSpiffeIdMatching("spiffe://example.org/ns/{ns}/sa/*"));
/// </code>
/// In a gRPC service: <c>context.GetHttpContext().Features.Get&lt;ISpiffeIdMatchFeature&gt;()</c>.
/// </remarks>
public interface ISpiffeIdMatchFeature
{
    /// <summary>The pattern that matched.</summary>
    SpiffeIdTemplate Template { get; }

    /// <summary>The captured segments by variable name.</summary>
    IReadOnlyDictionary<string, string> Values { get; }
}

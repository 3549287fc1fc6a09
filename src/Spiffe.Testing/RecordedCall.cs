namespace Spiffe.Testing;

/// <summary>
/// One request received by a <see cref="WorkloadApiServer"/>, recorded before any check, so rejected
/// and fault-injected calls are recorded too.
/// </summary>
public sealed class RecordedCall
{
    internal RecordedCall(
        WorkloadApiMethod method,
        IReadOnlyList<KeyValuePair<string, string>> metadata,
        IReadOnlyList<string> audiences,
        string? spiffeId,
        string? token,
        DateTimeOffset receivedAt)
    {
        Method = method;
        Metadata = metadata;
        Audiences = audiences;
        SpiffeId = spiffeId;
        Token = token;
        ReceivedAt = receivedAt;
    }

    /// <summary>The RPC that was called.</summary>
    public WorkloadApiMethod Method { get; }

    /// <summary>The full gRPC path, e.g. <c>/SpiffeWorkloadAPI/FetchX509SVID</c>.</summary>
    public string Path => Method.ToPath();

    /// <summary>
    /// Every request metadata entry in arrival order (keys lower-case as on the wire). Binary
    /// (<c>-bin</c>) values are rendered as base64.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; }

    /// <summary>
    /// The requested audiences: the <c>audience</c> list of <c>FetchJWTSVID</c>, the single
    /// <c>audience</c> of <c>ValidateJWTSVID</c> (if not empty); empty for the other methods.
    /// </summary>
    public IReadOnlyList<string> Audiences { get; }

    /// <summary>The <c>spiffe_id</c> of a <c>FetchJWTSVID</c> request; <see langword="null"/> when empty or for other methods.</summary>
    public string? SpiffeId { get; }

    /// <summary>The <c>svid</c> (token) of a <c>ValidateJWTSVID</c> request; <see langword="null"/> when empty or for other methods.</summary>
    public string? Token { get; }

    /// <summary>When the server received the call, from <see cref="WorkloadApiServerOptions.TimeProvider"/>.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>All values sent for a metadata key (case-insensitive), in arrival order.</summary>
    /// <example><code>Assert.Equal(["true"], call.GetMetadataValues("workload.spiffe.io"));</code></example>
    public IReadOnlyList<string> GetMetadataValues(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return [.. Metadata.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase)).Select(e => e.Value)];
    }

    /// <inheritdoc/>
    public override string ToString() => Token is null
        ? $"{Path} audiences=[{string.Join(", ", Audiences)}] spiffe_id={SpiffeId}"
        : $"{Path} audiences=[{string.Join(", ", Audiences)}] svid=<{Token.Length} chars>";
}

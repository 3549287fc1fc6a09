using System.Diagnostics.CodeAnalysis;

namespace Spiffe.X509;

/// <summary>
/// The outcome of validating a peer's X509-SVID: the peer's SPIFFE ID when it is valid, or the
/// reason it was rejected. Validation failures are results, not exceptions, because a peer
/// presenting a bad certificate is an expected event on a TLS server.
/// </summary>
public sealed class X509SvidValidationResult
{
    private X509SvidValidationResult(SpiffeId? spiffeId, X509SvidErrorKind errorKind, string? error)
    {
        SpiffeId = spiffeId;
        ErrorKind = errorKind;
        Error = error;
    }

    /// <summary>Whether the chain is a valid X509-SVID trusted by the bundle of its trust domain.</summary>
    [MemberNotNullWhen(true, nameof(SpiffeId))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => ErrorKind == X509SvidErrorKind.None;

    /// <summary>The peer's SPIFFE ID when <see cref="IsValid"/>; otherwise null.</summary>
    public SpiffeId? SpiffeId { get; }

    /// <summary>Which rule rejected the chain; <see cref="X509SvidErrorKind.None"/> when valid.</summary>
    public X509SvidErrorKind ErrorKind { get; }

    /// <summary>Why the chain was rejected, naming the rule; null when valid.</summary>
    public string? Error { get; }

    internal static X509SvidValidationResult Success(SpiffeId spiffeId) => new(spiffeId, X509SvidErrorKind.None, null);

    internal static X509SvidValidationResult Failure(X509SvidErrorKind errorKind, string error) => new(null, errorKind, error);

    /// <summary>The peer ID when valid, else the error kind and reason.</summary>
    public override string ToString() => IsValid ? $"Valid({SpiffeId})" : $"Invalid({ErrorKind}: {Error})";
}

using System.Diagnostics.CodeAnalysis;

namespace Spiffe.Jwt;

/// <summary>
/// The outcome of validating a JWT-SVID: the SVID when it is valid, or which rule rejected it and
/// why. Validation failures are results, not exceptions, because a caller presenting a bad token is
/// an expected event on a server (the same shape as <see cref="X509.X509SvidValidationResult"/>).
/// </summary>
public sealed class JwtSvidValidationResult
{
    private JwtSvidValidationResult(JwtSvid? svid, JwtSvidErrorKind errorKind, string? error)
    {
        Svid = svid;
        ErrorKind = errorKind;
        Error = error;
    }

    /// <summary>Whether the token is a valid JWT-SVID for the validator's audiences, signed by a key of its trust domain's bundle.</summary>
    [MemberNotNullWhen(true, nameof(Svid))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => ErrorKind == JwtSvidErrorKind.None;

    /// <summary>The validated SVID when <see cref="IsValid"/>; otherwise null.</summary>
    public JwtSvid? Svid { get; }

    /// <summary>Which rule rejected the token; <see cref="JwtSvidErrorKind.None"/> when valid.</summary>
    public JwtSvidErrorKind ErrorKind { get; }

    /// <summary>Why the token was rejected, naming the rule (never the token); null when valid.</summary>
    public string? Error { get; }

    internal static JwtSvidValidationResult Success(JwtSvid svid) => new(svid, JwtSvidErrorKind.None, null);

    internal static JwtSvidValidationResult Failure(JwtSvidErrorKind errorKind, string error) => new(null, errorKind, error);

    /// <summary>The SPIFFE ID when valid, else the error kind and reason; never the token.</summary>
    public override string ToString() => IsValid ? $"Valid({Svid.Id})" : $"Invalid({ErrorKind}: {Error})";
}

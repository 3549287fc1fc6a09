using System.Diagnostics.CodeAnalysis;
using Spiffe.Bundles;

namespace Spiffe.Jwt;

/// <summary>
/// Validates JWT-SVIDs against a bundle source, a fixed set of accepted audiences, a clock and a
/// leeway. Immutable and thread-safe; create one per service and reuse it. Bundles are looked up
/// on every validation, so a rotating source is honoured.
/// </summary>
/// <remarks>
/// <code>
/// var validator = new JwtSvidValidator(bundleSource, ["my-service"]);
/// JwtSvidValidationResult result = validator.Validate(token);
/// if (result.IsValid) { /* result.Svid.Id */ } else { /* result.ErrorKind, result.Error */ }
/// </code>
/// </remarks>
public sealed class JwtSvidValidator
{
    private readonly string[] _audiences;

    /// <summary>Creates a validator.</summary>
    /// <param name="bundleSource">Where the JWT bundles come from; only the subject's trust domain bundle is used.</param>
    /// <param name="audiences">The audiences this service accepts (any-of). Must not be empty.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="leeway">Clock-skew allowance for <c>exp</c> and <c>nbf</c>; <see cref="DefaultLeeway"/> when null, at most <see cref="MaxLeeway"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="audiences"/> is empty or holds a null or empty value.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="leeway"/> is negative or more than <see cref="MaxLeeway"/>.</exception>
    public JwtSvidValidator(IJwtBundleSource bundleSource, IReadOnlyCollection<string> audiences, TimeProvider? timeProvider = null, TimeSpan? leeway = null)
    {
        ArgumentNullException.ThrowIfNull(bundleSource);
        _audiences = CheckAudiences(audiences);
        TimeSpan effective = leeway ?? DefaultLeeway;
        if (effective < TimeSpan.Zero || effective > MaxLeeway)
        {
            throw new ArgumentOutOfRangeException(nameof(leeway), effective, $"The leeway must be between 0 and {MaxLeeway.TotalSeconds:0} seconds.");
        }

        BundleSource = bundleSource;
        TimeProvider = timeProvider ?? TimeProvider.System;
        Leeway = effective;
    }

    /// <summary>The leeway used when none is given: 30 seconds.</summary>
    public static TimeSpan DefaultLeeway { get; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest leeway allowed: 60 seconds (JWT-SVID.md §4 allows only a small leeway).</summary>
    public static TimeSpan MaxLeeway { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Where the JWT bundles come from.</summary>
    public IJwtBundleSource BundleSource { get; }

    /// <summary>The accepted audiences.</summary>
    public IReadOnlyList<string> Audiences => Array.AsReadOnly(_audiences);

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The clock-skew allowance for <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan Leeway { get; }

    /// <summary>
    /// Parses and validates a JWT-SVID without throwing for an invalid token: any token text gives a
    /// result, valid with the SVID or invalid with the rule that failed (only a null token throws).
    /// </summary>
    /// <param name="token">The compact JWS.</param>
    public JwtSvidValidationResult Validate(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        JwtSvid? svid = JwtSvidReader.Read(token, BundleSource, _audiences, TimeProvider.GetUtcNow(), Leeway, out string? error, out JwtSvidErrorKind kind);
        return svid is not null
            ? JwtSvidValidationResult.Success(svid)
            : JwtSvidValidationResult.Failure(kind, error ?? "The JWT-SVID is invalid.");
    }

    internal static string[] CheckAudiences(IReadOnlyCollection<string> audiences)
    {
        ArgumentNullException.ThrowIfNull(audiences);
        if (audiences.Count == 0)
        {
            throw new ArgumentException("At least one expected audience is required; a validator without one would accept tokens meant for anyone.", nameof(audiences));
        }

        string[] copy = [.. audiences];
        foreach (string audience in copy)
        {
            if (string.IsNullOrEmpty(audience))
            {
                throw new ArgumentException("An expected audience must not be null or empty.", nameof(audiences));
            }
        }

        return copy;
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Spiffe.Bundles;
using Spiffe.Jwt;
using Spiffe.WorkloadApi.Protocol;
using Spiffe.X509;

namespace Spiffe.WorkloadApi.Internal;

/// <summary>
/// Turns Workload API messages into validated SDK types. Anything that breaks a Workload API rule
/// (SPIFFE_Workload_API.md §4.5, §5.2) throws a <see cref="WorkloadApiException"/> of kind
/// <see cref="WorkloadApiErrorKind.MalformedResponse"/> and nothing of the message is kept.
/// </summary>
internal sealed class ResponseParser(WorkloadApiAddress address, TimeProvider timeProvider)
{
    public const string FetchX509Svid = "FetchX509SVID";
    public const string FetchX509Bundles = "FetchX509Bundles";
    public const string FetchJwtSvid = "FetchJWTSVID";
    public const string FetchJwtBundles = "FetchJWTBundles";
    public const string ValidateJwtSvid = "ValidateJWTSVID";

    /// <param name="response">The message.</param>
    /// <param name="known">Certificates to reuse instead of decoding again (see <see cref="KnownCertificates"/>).</param>
    public X509Context ParseX509Context(X509SVIDResponse response, IReadOnlyList<X509Certificate2>? known = null)
    {
        if (response.Svids.Count == 0)
        {
            throw Malformed(FetchX509Svid, "the response holds no SVID (svids is empty).");
        }

        var svids = new List<X509Svid>(response.Svids.Count);
        var bundles = new Dictionary<TrustDomain, X509Bundle>();
        try
        {
            for (int i = 0; i < response.Svids.Count; i++)
            {
                svids.Add(ParseSvid(response.Svids[i], i, bundles, known));
            }

            AddBundles(response.FederatedBundles, bundles, FetchX509Svid, "federated_bundles", keepExisting: true, known);
            return new X509Context(svids, new X509BundleSet(bundles.Values));
        }
        catch
        {
            svids.ForEach(static s => s.Dispose());
            foreach (X509Bundle bundle in bundles.Values)
            {
                bundle.Dispose();
            }

            throw;
        }
    }

    private X509Svid ParseSvid(X509SVID message, int index, Dictionary<TrustDomain, X509Bundle> bundles, IReadOnlyList<X509Certificate2>? known)
    {
        string field = $"svids[{index}]";
        if (message.SpiffeId.Length == 0)
        {
            throw Malformed(FetchX509Svid, $"{field}.spiffe_id is empty.");
        }

        if (!SpiffeId.TryParse(message.SpiffeId, out SpiffeId? declaredId))
        {
            throw Malformed(FetchX509Svid, $"{field}.spiffe_id \"{Printable(message.SpiffeId)}\" is not a valid SPIFFE ID.");
        }

        RequireBytes(message.X509Svid, $"{field}.x509_svid");
        RequireBytes(message.X509SvidKey, $"{field}.x509_svid_key");
        RequireBytes(message.Bundle, $"{field}.bundle");

        X509Svid svid;
        try
        {
            svid = X509Svid.Parse(message.X509Svid.Span, message.X509SvidKey.Span, Hint(message.Hint), known);
        }
        catch (Exception e) when (e is SpiffeException or FormatException or CryptographicException)
        {
            throw Malformed(FetchX509Svid, $"{field} ({declaredId}) is not a valid X509-SVID: {e.Message}", e);
        }

        try
        {
            if (!svid.Id.Equals(declaredId))
            {
                throw Malformed(FetchX509Svid, $"{field}.spiffe_id {declaredId} differs from the certificate's URI SAN {svid.Id}.");
            }

            X509Bundle ownBundle = LoadBundle(svid.Id.TrustDomain, message.Bundle, FetchX509Svid, $"{field}.bundle", known);
            if (!bundles.TryAdd(ownBundle.TrustDomain, ownBundle))
            {
                // Several SVIDs of one trust domain each carry its bundle: the first is kept.
                ownBundle.Dispose();
                ownBundle = bundles[svid.Id.TrustDomain];
            }

            // An SVID we would present must chain to its own trust domain's bundle and be valid now.
            X509SvidValidationResult check = new X509SvidValidator(ownBundle, timeProvider, cacheSize: 0).Validate(svid.Chain);
            if (!check.IsValid)
            {
                throw Malformed(FetchX509Svid, $"{field} ({svid.Id}) does not verify against its own bundle: {check.Error}");
            }

            return svid;
        }
        catch
        {
            svid.Dispose();
            throw;
        }
    }

    /// <param name="response">The message.</param>
    /// <param name="known">Certificates to reuse instead of decoding again (see <see cref="KnownCertificates"/>).</param>
    public X509BundleSet ParseX509Bundles(X509BundlesResponse response, IReadOnlyList<X509Certificate2>? known = null)
    {
        if (response.Bundles.Count == 0)
        {
            throw Malformed(FetchX509Bundles, "the response holds no bundle (bundles is empty).");
        }

        var bundles = new Dictionary<TrustDomain, X509Bundle>();
        try
        {
            AddBundles(response.Bundles, bundles, FetchX509Bundles, "bundles", keepExisting: false, known);
            return new X509BundleSet(bundles.Values);
        }
        catch
        {
            foreach (X509Bundle bundle in bundles.Values)
            {
                bundle.Dispose();
            }

            throw;
        }
    }

    public JwtBundleSet ParseJwtBundles(JWTBundlesResponse response)
    {
        if (response.Bundles.Count == 0)
        {
            throw Malformed(FetchJwtBundles, "the response holds no bundle (bundles is empty).");
        }

        var bundles = new List<JwtBundle>(response.Bundles.Count);
        var keys = new Dictionary<TrustDomain, string>(response.Bundles.Count);
        foreach ((string key, ByteString jwks) in response.Bundles)
        {
            TrustDomain trustDomain = ParseTrustDomainKey(key, FetchJwtBundles, "bundles");
            RequireUnique(keys, trustDomain, key, FetchJwtBundles, "bundles");
            RequireBytes(jwks, $"bundles[{key}]", FetchJwtBundles);
            try
            {
                bundles.Add(JwtBundle.Parse(trustDomain, jwks.Span));
            }
            catch (Exception e) when (e is SpiffeException or FormatException or System.Text.Json.JsonException or CryptographicException)
            {
                throw Malformed(FetchJwtBundles, $"bundles[{key}] is not a valid JWT bundle: {e.Message}", e);
            }
        }

        return new JwtBundleSet(bundles);
    }

    public IReadOnlyList<JwtSvid> ParseJwtSvids(JWTSVIDResponse response, IReadOnlyCollection<string> audiences)
    {
        if (response.Svids.Count == 0)
        {
            throw Malformed(FetchJwtSvid, "the response holds no JWT-SVID (svids is empty).");
        }

        var result = new List<JwtSvid>(response.Svids.Count);
        for (int i = 0; i < response.Svids.Count; i++)
        {
            JWTSVID message = response.Svids[i];
            if (message.SpiffeId.Length == 0 || message.Svid.Length == 0)
            {
                throw Malformed(FetchJwtSvid, $"svids[{i}].{(message.SpiffeId.Length == 0 ? "spiffe_id" : "svid")} is empty.");
            }

            JwtSvid svid;
            try
            {
                svid = JwtSvid.ParseInsecure(message.Svid, audiences, timeProvider).WithHint(Hint(message.Hint));
            }
            catch (Exception e) when (e is SpiffeException or FormatException or ArgumentException)
            {
                throw Malformed(FetchJwtSvid, $"svids[{i}] ({message.SpiffeId}) is not a valid JWT-SVID: {e.Message}", e);
            }

            if (!string.Equals(svid.Id.ToString(), message.SpiffeId, StringComparison.Ordinal))
            {
                throw Malformed(FetchJwtSvid, $"svids[{i}].spiffe_id {message.SpiffeId} differs from the token's subject {svid.Id}.");
            }

            result.Add(svid);
        }

        return result;
    }

    /// <summary>
    /// The hint as the SDK uses it: none when empty, and none when longer than 1024 bytes
    /// (SPIFFE_Workload_API.md §5.2.1: implementations SHOULD NOT support such hints). The SVID
    /// itself stays usable; it just cannot be selected by that hint.
    /// </summary>
    internal static string? Hint(string hint) =>
        hint.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(hint) > MaxHintBytes ? null : hint;

    internal const int MaxHintBytes = 1024;

    private void AddBundles(MapField<string, ByteString> map, Dictionary<TrustDomain, X509Bundle> bundles, string operation, string field, bool keepExisting, IReadOnlyList<X509Certificate2>? known)
    {
        var keys = new Dictionary<TrustDomain, string>(map.Count);
        foreach ((string key, ByteString der) in map)
        {
            TrustDomain trustDomain = ParseTrustDomainKey(key, operation, field);
            RequireUnique(keys, trustDomain, key, operation, field);
            if (keepExisting && bundles.ContainsKey(trustDomain))
            {
                // The SVID's own bundle is authoritative for its trust domain.
                continue;
            }

            bundles.Add(trustDomain, LoadBundle(trustDomain, der, operation, $"{field}[{key}]", known));
        }
    }

    private X509Bundle LoadBundle(TrustDomain trustDomain, ByteString der, string operation, string field, IReadOnlyList<X509Certificate2>? known)
    {
        RequireBytes(der, field, operation);
        try
        {
            return X509Bundle.FromDer(trustDomain, der.Span, known);
        }
        catch (FormatException e)
        {
            throw Malformed(operation, $"{field} is not concatenated DER certificates: {e.Message}", e);
        }
    }

    private TrustDomain ParseTrustDomainKey(string key, string operation, string field)
    {
        // Keys are trust domain SPIFFE IDs ("spiffe://example.org", the proto's form); a bare name
        // ("example.org") is tolerated, as this parser always has.
        return TrustDomain.TryParse(key, out TrustDomain? trustDomain)
            ? trustDomain
            : throw Malformed(operation, $"{field} has the key \"{Printable(key)}\", which is not a trust domain SPIFFE ID.");
    }

    /// <summary>
    /// Two keys of one map naming the same trust domain (<c>partner.org</c> and
    /// <c>spiffe://partner.org</c>) make the message ambiguous: which bundle is the trust domain's?
    /// The message is discarded rather than one of them picked by map order.
    /// </summary>
    private void RequireUnique(Dictionary<TrustDomain, string> seen, TrustDomain trustDomain, string key, string operation, string field)
    {
        if (!seen.TryAdd(trustDomain, key))
        {
            throw Malformed(operation, $"{field} names trust domain {trustDomain} twice (keys \"{Printable(seen[trustDomain])}\" and \"{Printable(key)}\"); a map holds one bundle per trust domain.");
        }
    }

    // Map keys come from the agent: bound what reaches a message or a log.
    private static string Printable(string value)
    {
        const int Max = 64;
        var builder = new System.Text.StringBuilder(Math.Min(value.Length, Max) + 3);
        foreach (char c in value.AsSpan(0, Math.Min(value.Length, Max)))
        {
            builder.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return value.Length > Max ? builder.Append("...").ToString() : builder.ToString();
    }

    private void RequireBytes(ByteString value, string field, string operation = FetchX509Svid)
    {
        if (value.IsEmpty)
        {
            throw Malformed(operation, $"{field} is empty.");
        }
    }

    private WorkloadApiException Malformed(string operation, string reason, Exception? inner = null) =>
        Errors.Malformed(address, operation, reason, inner);
}

using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Spiffe.AspNetCore.Authorization;

/// <summary>
/// A compiled, immutable SPIFFE rule set (<see cref="SpiffeAuthorizationRuleOptions"/>). Evaluation
/// allocates nothing: methods are a bit mask, paths and Istio principals plain ordinal string
/// comparisons, SPIFFE IDs reference-or-ordinal equality, patterns <see cref="SpiffeIdTemplate.IsMatch"/>.
/// </summary>
internal sealed class SpiffeRuleSet
{
    internal const string Section = "Spiffe:Authorization:Rules";
    private const string Scheme = "spiffe://";

    private static readonly string[] s_knownMethods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"];

    private readonly CompiledRule[] _deny;
    private readonly CompiledRule[] _allow;

    private SpiffeRuleSet(CompiledRule[] deny, CompiledRule[] allow, string fingerprint)
    {
        _deny = deny;
        _allow = allow;
        Fingerprint = fingerprint;
    }

    public static SpiffeRuleSet Empty { get; } = new([], [], string.Empty);

    public int Count => _deny.Length + _allow.Length;

    /// <summary>A canonical text of the rules: equal sets have equal fingerprints (a reload that changes nothing is not logged).</summary>
    public string Fingerprint { get; }

    /// <summary>Istio's order: the first matching DENY rule denies; else the first matching ALLOW rule allows; else deny.</summary>
    public SpiffeRuleDecision Evaluate(SpiffeId caller, string method, string path)
    {
        uint methodBit = MethodBit(method);
        foreach (CompiledRule rule in _deny)
        {
            if (rule.Matches(caller, method, methodBit, path))
            {
                return new SpiffeRuleDecision(false, rule.Index);
            }
        }

        foreach (CompiledRule rule in _allow)
        {
            if (rule.Matches(caller, method, methodBit, path))
            {
                return new SpiffeRuleDecision(true, rule.Index);
            }
        }

        return new SpiffeRuleDecision(false, -1);
    }

    public static bool TryCompile(SpiffeAuthorizationRuleOptions options, [NotNullWhen(true)] out SpiffeRuleSet? ruleSet, [NotNullWhen(false)] out string? error)
    {
        ruleSet = null;
        var deny = new List<CompiledRule>();
        var allow = new List<CompiledRule>();
        var fingerprint = new StringBuilder();
        IList<SpiffeAuthorizationRule> rules = options.Rules ?? [];
        for (int i = 0; i < rules.Count; i++)
        {
            string key = $"{Section}:{i}";
            SpiffeAuthorizationRule? rule = rules[i];
            if (rule is null)
            {
                error = $"{key}: the rule is empty; give it an Action (ALLOW or DENY) and Principals, Methods or Paths.";
                return false;
            }

            if (rule.UnknownKeys.Count > 0)
            {
                error = $"{key}:{rule.UnknownKeys[0]}: not a rule field; a rule has Action, Principals, Methods and Paths (a misspelt field would otherwise widen the rule).";
                return false;
            }

            bool isDeny;
            switch (rule.Action?.Trim().ToUpperInvariant())
            {
                case "ALLOW":
                    isDeny = false;
                    break;
                case "DENY":
                    isDeny = true;
                    break;
                default:
                    error = $"{key}:Action: '{rule.Action}' is not an action; use ALLOW or DENY.";
                    return false;
            }

            if (!TryCompilePrincipals(rule.Principals, key, out PrincipalMatcher[]? principals, out error)
                || !TryCompileMethods(rule.Methods, key, out uint methodMask, out string[]? otherMethods, out error)
                || !TryCompilePaths(rule.Paths, key, out PathMatcher[]? paths, out error))
            {
                return false;
            }

            var compiled = new CompiledRule(i, principals, methodMask, otherMethods, paths);
            (isDeny ? deny : allow).Add(compiled);
            fingerprint.Append(i).Append(isDeny ? " DENY " : " ALLOW ").Append(compiled).Append('\n');
        }

        ruleSet = new SpiffeRuleSet([.. deny], [.. allow], fingerprint.ToString());
        error = null;
        return true;
    }

    private static bool TryCompilePrincipals(IList<string>? values, string key, [NotNullWhen(true)] out PrincipalMatcher[]? matchers, [NotNullWhen(false)] out string? error)
    {
        var list = new List<PrincipalMatcher>();
        values ??= [];
        for (int i = 0; i < values.Count; i++)
        {
            string text = (values[i] ?? string.Empty).Trim();
            string at = $"{key}:Principals:{i}";
            if (text == "*")
            {
                list.Add(new PrincipalMatcher(PrincipalKind.Any, text, null, null, null));
            }
            else if (text.StartsWith(Scheme, StringComparison.Ordinal))
            {
                if (IsTemplate(text))
                {
                    if (!SpiffeIdTemplate.TryParse(text, out SpiffeIdTemplate? template, out string? templateError))
                    {
                        matchers = null;
                        error = $"{at}: {templateError}";
                        return false;
                    }

                    list.Add(new PrincipalMatcher(PrincipalKind.Template, text, null, null, template));
                }
                else if (SpiffeId.TryParse(text, out SpiffeId? id) && !id.IsTrustDomainId)
                {
                    list.Add(new PrincipalMatcher(PrincipalKind.Exact, text, id, null, null));
                }
                else
                {
                    matchers = null;
                    error = $"{at}: '{text}' is not a SPIFFE ID of a workload ({ParseError(text)}). Use spiffe://<trust-domain>/<path>, a pattern such as spiffe://example.org/ns/{{ns}}/sa/*, or a trust domain name for a whole trust domain.";
                    return false;
                }
            }
            else if (text.Length > 1 && text[0] == '*' && text.IndexOf('*', 1) < 0)
            {
                list.Add(new PrincipalMatcher(PrincipalKind.IstioSuffix, text[1..], null, null, null));
            }
            else if (text.Length > 1 && text[^1] == '*' && text.IndexOf('*') == text.Length - 1)
            {
                list.Add(new PrincipalMatcher(PrincipalKind.IstioPrefix, text[..^1], null, null, null));
            }
            else if (text.Contains('*', StringComparison.Ordinal))
            {
                matchers = null;
                error = $"{at}: '{text}' has a '*' inside; Istio principals take '*' only at the start (suffix match) or the end (prefix match).";
                return false;
            }
            else if (!text.Contains('/', StringComparison.Ordinal))
            {
                if (!TrustDomain.TryParse(text, out TrustDomain? domain))
                {
                    matchers = null;
                    error = $"{at}: '{text}' is not a trust domain name (e.g. example.org), a SPIFFE ID or an Istio principal (<trust-domain>/ns/<namespace>/sa/<service-account>).";
                    return false;
                }

                list.Add(new PrincipalMatcher(PrincipalKind.TrustDomain, text, null, domain, null));
            }
            else if (SpiffeId.TryParse(Scheme + text, out SpiffeId? istio) && !istio.IsTrustDomainId)
            {
                list.Add(new PrincipalMatcher(PrincipalKind.Exact, text, istio, null, null));
            }
            else
            {
                matchers = null;
                error = $"{at}: '{text}' is not an Istio principal: spiffe://{text} is not a SPIFFE ID ({ParseError(Scheme + text)}).";
                return false;
            }
        }

        matchers = [.. list];
        error = null;
        return true;
    }

    private static bool TryCompileMethods(IList<string>? values, string key, out uint mask, out string[]? others, [NotNullWhen(false)] out string? error)
    {
        mask = 0;
        others = null;
        var other = new List<string>();
        values ??= [];
        for (int i = 0; i < values.Count; i++)
        {
            string text = (values[i] ?? string.Empty).Trim();
            if (text == "*")
            {
                mask = uint.MaxValue;
                continue;
            }

            if (text.Length == 0 || !text.All(static c => c is >= 'A' and <= 'Z' || c is '-' or '_' || char.IsAsciiDigit(c)))
            {
                error = $"{key}:Methods:{i}: '{text}' is not an HTTP method as rules compare them (exact and case-sensitive, e.g. GET, POST), nor '*'.";
                return false;
            }

            uint bit = MethodBit(text);
            if (bit == 0)
            {
                other.Add(text);
            }
            else
            {
                mask |= bit;
            }
        }

        if (values.Count == 0)
        {
            mask = uint.MaxValue;
        }

        others = other.Count == 0 ? null : [.. other];
        error = null;
        return true;
    }

    private static bool TryCompilePaths(IList<string>? values, string key, [NotNullWhen(true)] out PathMatcher[]? matchers, [NotNullWhen(false)] out string? error)
    {
        var list = new List<PathMatcher>();
        values ??= [];
        for (int i = 0; i < values.Count; i++)
        {
            string text = (values[i] ?? string.Empty).Trim();
            string at = $"{key}:Paths:{i}";
            PathMatcher matcher;
            if (text == "*")
            {
                matcher = new PathMatcher(PathKind.Any, text);
            }
            else if (text.Length > 1 && text[^1] == '*' && text.IndexOf('*') == text.Length - 1)
            {
                matcher = new PathMatcher(PathKind.Prefix, text[..^1]);
            }
            else if (text.Length > 1 && text[0] == '*' && text.IndexOf('*', 1) < 0)
            {
                matcher = new PathMatcher(PathKind.Suffix, text[1..]);
            }
            else if (text.Contains('*', StringComparison.Ordinal))
            {
                error = $"{at}: '{text}' has a '*' inside; a path is exact (/v1/payments), a prefix (/v1/*), a suffix (*/status) or '*'.";
                matchers = null;
                return false;
            }
            else
            {
                matcher = new PathMatcher(PathKind.Exact, text);
            }

            if (matcher.Kind is PathKind.Exact or PathKind.Prefix && (matcher.Value.Length == 0 || matcher.Value[0] != '/'))
            {
                error = $"{at}: '{text}' does not start with '/'; request paths always do (use '*' for any path).";
                matchers = null;
                return false;
            }

            if (text.Contains('?', StringComparison.Ordinal) || text.Contains('#', StringComparison.Ordinal))
            {
                error = $"{at}: '{text}' has a query or fragment; rules match the path alone.";
                matchers = null;
                return false;
            }

            list.Add(matcher);
        }

        matchers = [.. list];
        error = null;
        return true;
    }

    // A pattern has a {variable}, a '*' or a '**' segment; anything else after spiffe:// is an ID.
    private static bool IsTemplate(string text) =>
        text.Contains('{', StringComparison.Ordinal) || text.Contains('*', StringComparison.Ordinal);

    private static string ParseError(string text)
    {
        try
        {
            SpiffeId id = SpiffeId.Parse(text);
            return id.IsTrustDomainId ? "it names a trust domain, not a workload" : "invalid";
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    private static uint MethodBit(string method) => method switch
    {
        "GET" => 1u << 0,
        "HEAD" => 1u << 1,
        "POST" => 1u << 2,
        "PUT" => 1u << 3,
        "DELETE" => 1u << 4,
        "PATCH" => 1u << 5,
        "OPTIONS" => 1u << 6,
        "CONNECT" => 1u << 7,
        "TRACE" => 1u << 8,
        _ => 0,
    };

    private enum PrincipalKind
    {
        Any,
        Exact,
        TrustDomain,
        Template,
        IstioPrefix,
        IstioSuffix,
    }

    private enum PathKind
    {
        Any,
        Exact,
        Prefix,
        Suffix,
    }

    private readonly record struct PrincipalMatcher(PrincipalKind Kind, string Text, SpiffeId? Id, TrustDomain? TrustDomain, SpiffeIdTemplate? Template)
    {
        public bool Matches(SpiffeId caller) => Kind switch
        {
            PrincipalKind.Any => true,
            PrincipalKind.Exact => caller == Id,
            PrincipalKind.TrustDomain => caller.MemberOf(TrustDomain!),
            PrincipalKind.Template => Template!.IsMatch(caller),
            PrincipalKind.IstioPrefix => IstioName(caller).StartsWith(Text, StringComparison.Ordinal),
            _ => IstioName(caller).EndsWith(Text, StringComparison.Ordinal),
        };

        public override string ToString() => $"{Kind}:{Text}";

        // Istio's source.principal is the SPIFFE ID without its scheme.
        private static ReadOnlySpan<char> IstioName(SpiffeId caller) => caller.ToString().AsSpan(Scheme.Length);
    }

    private readonly record struct PathMatcher(PathKind Kind, string Value)
    {
        public bool Matches(string path) => Kind switch
        {
            PathKind.Any => path.Length > 0,
            PathKind.Exact => string.Equals(path, Value, StringComparison.Ordinal),
            PathKind.Prefix => path.StartsWith(Value, StringComparison.Ordinal),
            _ => path.EndsWith(Value, StringComparison.Ordinal),
        };

        public override string ToString() => $"{Kind}:{Value}";
    }

    private sealed class CompiledRule(int index, PrincipalMatcher[] principals, uint methodMask, string[]? otherMethods, PathMatcher[] paths)
    {
        public int Index { get; } = index;

        // Cheapest first: the method bit, then the path, then the caller.
        public bool Matches(SpiffeId caller, string method, uint methodBit, string path)
        {
            if (methodMask != uint.MaxValue && (methodBit != 0 ? (methodMask & methodBit) == 0 : !HasOtherMethod(method)))
            {
                return false;
            }

            if (paths.Length > 0 && !AnyPath(path))
            {
                return false;
            }

            if (principals.Length == 0)
            {
                return true;
            }

            foreach (PrincipalMatcher principal in principals)
            {
                if (principal.Matches(caller))
                {
                    return true;
                }
            }

            return false;
        }

        public override string ToString() =>
            $"principals [{string.Join(", ", principals)}] methods {(methodMask == uint.MaxValue ? "*" : string.Join(",", s_knownMethods.Where((_, i) => (methodMask & (1u << i)) != 0).Concat(otherMethods ?? [])))} paths [{string.Join(", ", paths)}]";

        private bool AnyPath(string path)
        {
            foreach (PathMatcher matcher in paths)
            {
                if (matcher.Matches(path))
                {
                    return true;
                }
            }

            return false;
        }

        private bool HasOtherMethod(string method)
        {
            if (otherMethods is null)
            {
                return false;
            }

            foreach (string other in otherMethods)
            {
                if (string.Equals(other, method, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }
}

/// <summary>The outcome of <see cref="SpiffeRuleSet.Evaluate"/>: allowed or not, and the index of the deciding rule (-1: no rule matched).</summary>
internal readonly record struct SpiffeRuleDecision(bool Allowed, int RuleIndex);

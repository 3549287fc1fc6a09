namespace Spiffe.AspNetCore.Opa;

/// <summary>
/// The cached question: who asks, the method, the route template, and a SHA-256 digest (first 128 bits)
/// of the whole input document, which also covers the path, headers and remote address.
/// </summary>
internal readonly record struct OpaDecisionKey(string Caller, string Method, string Route, UInt128 InputHash);

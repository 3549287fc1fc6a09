using Microsoft.AspNetCore.Authorization;
using Spiffe.AspNetCore.Authorization;

namespace Spiffe.AspNetCore.Opa;

/// <summary>A failure because OPA gave no usable answer: the result handler turns it into 503 with <c>Retry-After</c>.</summary>
internal sealed class OpaUnavailableReason(IAuthorizationHandler handler, string message, TimeSpan retryAfter)
    : SpiffeDecisionPointUnavailableReason(handler, message, retryAfter);

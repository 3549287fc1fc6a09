# The payment-processor's authorization policy, evaluated by OPA next to the service.
# Spiffe.AspNetCore.Opa asks POST /v1/data/http/authz/allow with the input document described in
# docs/opa.md (input.caller.spiffe_id, input.request.method, input.request.path, ...).
# Requires OPA 1.0 or later (Rego v1 syntax).
package http.authz

# Fail closed: anything not allowed below is denied (the service answers 403).
default allow := false

checkout := "spiffe://prod.example.com/ns/payments/sa/checkout-service"

# Only the checkout service may create payments.
allow if {
	input.caller.spiffe_id == checkout
	input.request.method == "POST"
	input.request.path == "/v1/payments"
}

# The same decision as an object with a reason, for o.DecisionPath = "http/authz/decision".
# The reason reaches the service's logs and audit trail, never the caller.
decision := {"allow": true} if {
	allow
} else := {"allow": false, "reason": sprintf("%s may not %s %s", [input.caller.spiffe_id, input.request.method, input.request.path])}

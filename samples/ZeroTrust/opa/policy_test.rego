# Unit tests for policy.rego: `opa test samples/ZeroTrust/opa -v` (not run in CI: no OPA binary there).
package http.authz_test

import data.http.authz

checkout := "spiffe://prod.example.com/ns/payments/sa/checkout-service"

input_for(id, method, path) := {
	"version": 1,
	"caller": {"spiffe_id": id, "trust_domain": "prod.example.com", "authentication": "mtls"},
	"request": {"method": method, "path": path, "route": path, "headers": {}, "remote_address": "10.0.0.7"},
}

test_checkout_may_post_payments if {
	authz.allow with input as input_for(checkout, "POST", "/v1/payments")
}

test_checkout_may_not_get_payments if {
	not authz.allow with input as input_for(checkout, "GET", "/v1/payments")
}

test_other_workload_denied_with_reason if {
	d := authz.decision with input as input_for("spiffe://prod.example.com/ns/shop/sa/frontend", "POST", "/v1/payments")
	d.allow == false
	contains(d.reason, "frontend")
}

test_other_trust_domain_denied if {
	not authz.allow with input as input_for("spiffe://evil.example.com/ns/payments/sa/checkout-service", "POST", "/v1/payments")
}

# Unit tests for policy.rego: `opa test samples/ZeroTrust/opa -v` (not run in CI: no OPA binary there).
package http.authz_test

import data.http.authz

checkout := "spiffe://prod.example.com/ns/payments/sa/checkout-service"

# The input document payment-processor sends (docs/opa.md, version 1): the caller authenticated by a
# JWT-SVID for audience payment-processor, bound to the same mTLS peer.
input_for(id, method, path) := {
	"version": 1,
	"caller": {
		"spiffe_id": id,
		"trust_domain": "prod.example.com",
		"path": trim_prefix(id, "spiffe://prod.example.com"),
		"authentication": "jwt_svid",
		"mtls_peer": id,
		"jwt": {"audience": ["payment-processor"], "claims": {"sub": id, "aud": "payment-processor", "exp": 1767225600}},
	},
	"request": {"method": method, "path": path, "route": path, "headers": {}, "remote_address": "127.0.0.1"},
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

test_checkout_may_not_post_refunds if {
	not authz.allow with input as input_for(checkout, "POST", "/v1/refunds")
}

test_mtls_only_caller_is_decided_the_same if {
	authz.allow with input as {
		"version": 1,
		"caller": {"spiffe_id": checkout, "trust_domain": "prod.example.com", "path": "/ns/payments/sa/checkout-service", "authentication": "mtls", "mtls_peer": checkout},
		"request": {"method": "POST", "path": "/v1/payments", "route": "/v1/payments", "headers": {}, "remote_address": "127.0.0.1"},
	}
}

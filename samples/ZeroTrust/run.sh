#!/usr/bin/env bash
# The checkout → payment-processor scenario in one command, with no SPIRE and no OPA binary:
# a development agent (`spiffe dev-agent`) for prod.example.com, then payment-processor three times:
#   1. deciding with the configuration rules of its appsettings.json;
#   2. deciding with OPA's Data API, answered by opa-stand-in (NOT OPA: a few lines of C# that answer
#      like ../opa/policy.rego, because no OPA binary is assumed here);
#   3. deciding with OPA while the PDP is down (fail closed: 503).
# Each time checkout-service makes its calls and prints what it got; the audit events follow.
#   samples/ZeroTrust/run.sh [--Key=value ...]   (needs only the .NET SDK; arguments go to payment-processor)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/zerotrust.XXXXXX")
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

td=prod.example.com
checkout=spiffe://$td/ns/payments/sa/checkout-service
processor=spiffe://$td/ns/payments/sa/payment-processor
storefront=spiffe://$td/ns/shop/sa/storefront
bin=bin/Release/net10.0

echo "== building"
for project in src/Spiffe.Cli samples/ZeroTrust/Spiffe.Samples.PaymentProcessor samples/ZeroTrust/Spiffe.Samples.CheckoutService samples/ZeroTrust/Spiffe.Samples.OpaStandIn; do
  dotnet build "$root/$project" -c Release -nologo -v:q >/dev/null
done

# wait_for LOG SED-EXPRESSION: prints the first match of the expression in LOG (waits up to 60 s).
wait_for() {
  local found=
  for _ in $(seq 1 600); do
    found=$(sed -n "$2" "$1" | head -n 1)
    [ -n "$found" ] && { echo "$found"; return 0; }
    sleep 0.1
  done
  cat "$1" >&2
  return 1
}

echo "== development agent for $td (issues $storefront, $checkout, $processor)"
dotnet "$root/src/Spiffe.Cli/$bin/spiffe.dll" dev-agent --socket "unix://$work/agent.sock" \
  --trust-domain "$td" --id "$storefront" --id "$checkout" --id "$processor" > "$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
[ -S "$work/agent.sock" ] || { cat "$work/agent.log"; echo "the development agent did not start"; exit 1; }
export SPIFFE_ENDPOINT_SOCKET="unix://$work/agent.sock"

# start_processor NAME ARGS...: starts payment-processor (log $work/NAME.log); sets $address and $processor_pid.
start_processor() {
  local name=$1; shift
  (cd "$root/samples/ZeroTrust/Spiffe.Samples.PaymentProcessor" && \
    exec dotnet "$bin/Spiffe.Samples.PaymentProcessor.dll" --ZeroTrust:Port=0 "$@") > "$work/$name.log" 2>&1 &
  processor_pid=$!
  pids+=("$processor_pid")
  address=$(wait_for "$work/$name.log" 's/^payment-processor listening on \(https:[^ ,]*\).*/\1/p') \
    || { echo "payment-processor did not start"; exit 1; }
  echo "payment-processor listening on $address"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

call() { echo; echo "-- $1"; shift; dotnet "$root/samples/ZeroTrust/Spiffe.Samples.CheckoutService/$bin/Spiffe.Samples.CheckoutService.dll" --processor "$address" "$@" || true; }

no_certificate() {
  echo; echo "-- a client without a certificate (refused in the TLS handshake)"
  if command -v curl >/dev/null; then
    curl -sS -k --http1.1 -o /dev/null -X POST "$address/v1/payments" 2>&1 || true
  else
    echo "(curl not installed: skipped; tests/Spiffe.ZeroTrust.Tests checks it)"
  fi
}

audit() { echo; echo "== $1: audit events (category Spiffe.Audit)"; grep 'Spiffe.Audit' "$work/$2.log" || echo "(none)"; }

echo; echo "======== 1. configuration rules (Spiffe:Authorization:Rules in appsettings.json)"
start_processor rules "$@"
call "checkout-service pays (allowed: 200)" --call "POST /v1/payments"
call "checkout-service asks for a refund (not in the rules: 403)" --call "POST /v1/refunds"
call "storefront, same trust domain, pays (not checkout-service: 403)" --id "$storefront" --call "POST /v1/payments"
call "checkout-service without its JWT-SVID (403)" --without-jwt --call "POST /v1/payments"
no_certificate
audit "rules" rules
stop "$processor_pid"

echo; echo "======== 2. OPA as the policy decision point (answered by opa-stand-in, NOT a real OPA)"
dotnet "$root/samples/ZeroTrust/Spiffe.Samples.OpaStandIn/$bin/Spiffe.Samples.OpaStandIn.dll" --ZeroTrust:Port=0 > "$work/pdp.log" 2>&1 &
pdp_pid=$!
pids+=("$pdp_pid")
pdp=$(wait_for "$work/pdp.log" 's/^opa-stand-in (not OPA) listening on \(http:[^ ]*\).*/\1/p') || { echo "opa-stand-in did not start"; exit 1; }
echo "opa-stand-in listening on $pdp"
start_processor opa --ZeroTrust:Authorization=Opa "--ZeroTrust:OpaUrl=$pdp/" "$@"
call "checkout-service pays (OPA allows: 200)" --call "POST /v1/payments"
call "checkout-service asks for a refund (OPA denies: 403)" --call "POST /v1/refunds"
call "storefront pays (OPA denies: 403)" --id "$storefront" --call "POST /v1/payments"
echo; echo "== opa-stand-in's decision log"
cat "$work/pdp.log"
audit "OPA" opa
stop "$processor_pid"

echo; echo "======== 3. OPA down (the PDP is stopped: fail closed)"
stop "$pdp_pid"
start_processor opa-down --ZeroTrust:Authorization=Opa "--ZeroTrust:OpaUrl=$pdp/" "$@"
call "checkout-service pays while OPA is down (503 with Retry-After)" --call "POST /v1/payments"
audit "OPA down" opa-down

#!/usr/bin/env bash
# The checkout → payment-processor scenario in one command, with no SPIRE: a development agent
# (`spiffe dev-agent`) for prod.example.com, payment-processor, then checkout-service's calls.
#   samples/ZeroTrust/run.sh            (needs only the .NET SDK)
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

echo "== building"
for project in src/Spiffe.Cli samples/ZeroTrust/Spiffe.Samples.PaymentProcessor samples/ZeroTrust/Spiffe.Samples.CheckoutService; do
  dotnet build "$root/$project" -c Release -nologo -v:q >/dev/null
done

echo "== development agent for $td (issues $storefront, $checkout, $processor)"
dotnet "$root/src/Spiffe.Cli/bin/Release/net10.0/spiffe.dll" dev-agent --socket "unix://$work/agent.sock" \
  --trust-domain "$td" --id "$storefront" --id "$checkout" --id "$processor" > "$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
[ -S "$work/agent.sock" ] || { cat "$work/agent.log"; echo "the development agent did not start"; exit 1; }
export SPIFFE_ENDPOINT_SOCKET="unix://$work/agent.sock"

echo "== payment-processor"
(cd "$root/samples/ZeroTrust/Spiffe.Samples.PaymentProcessor" && \
  exec dotnet bin/Release/net10.0/Spiffe.Samples.PaymentProcessor.dll --ZeroTrust:Port=0 "$@") > "$work/processor.log" 2>&1 &
pids+=($!)
address=
for _ in $(seq 1 600); do
  address=$(sed -n 's/^payment-processor listening on \(https:[^ ]*\).*/\1/p' "$work/processor.log" | head -n 1)
  [ -n "$address" ] && break
  sleep 0.1
done
[ -n "$address" ] || { cat "$work/processor.log"; echo "payment-processor did not start"; exit 1; }
echo "listening on $address"

call() { echo; echo "-- $1"; shift; dotnet "$root/samples/ZeroTrust/Spiffe.Samples.CheckoutService/bin/Release/net10.0/Spiffe.Samples.CheckoutService.dll" --processor "$address" "$@" || true; }
call "checkout-service pays (allowed: 200)" --call "POST /v1/payments"
call "checkout-service asks for a refund (not in the policy: 403)" --call "POST /v1/refunds"
call "storefront, same trust domain, pays (not checkout-service: 403)" --id "$storefront" --call "POST /v1/payments"
call "checkout-service without its JWT-SVID (403)" --without-jwt --call "POST /v1/payments"

echo; echo "== payment-processor's log (audit events included)"
cat "$work/processor.log"

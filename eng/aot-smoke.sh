#!/usr/bin/env bash
# Native AOT smoke test: publishes tests/Spiffe.AotSmoke with PublishAot (trim, AOT and ILC warnings
# are errors), starts `spiffe dev-agent`, and runs the native app: it serves Kestrel UseSpiffeMtls and
# calls itself over SpiffeHttpHandler. Prints the time from launch to the first served mTLS request
# and the idle RSS of each run; fails if a run fails or the RSS exceeds 40 MB.
#
# Usage: eng/aot-smoke.sh [runs]      (default 3 runs; figures in benchmarks/README.md come from 10)
#        AOT_SMOKE_COMPARE=1 eng/aot-smoke.sh 10   also runs the same app JIT-compiled, for comparison
# Needs: the .NET SDK and clang (installed with apt-get when missing: Native AOT links with clang).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/spiffe-aot.XXXXXX")
agent_pid=
cleanup() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== aot smoke: %s (%ds)\n' "$1" "$SECONDS"; }

if ! command -v clang >/dev/null; then
  step "install clang (the Native AOT linker driver)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null
fi
clang --version | head -n 1

step "publish tests/Spiffe.AotSmoke with PublishAot"
dotnet publish "$root/tests/Spiffe.AotSmoke" -c Release -r linux-x64 -o "$work/app" -nologo -v:q
ls -l "$work/app/Spiffe.AotSmoke"

step "start spiffe dev-agent"
dotnet build "$root/src/Spiffe.Cli" -nologo -v:q
socket="$work/agent.sock"
dotnet "$root/src/Spiffe.Cli/bin/Debug/net10.0/spiffe.dll" dev-agent --socket "unix://$socket" \
  --trust-domain example.org --id spiffe://example.org/aot-smoke > "$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 600); do  # at most 60 s
  [ -S "$socket" ] && break
  kill -0 "$agent_pid" 2>/dev/null || { echo "FAIL: dev agent exited"; cat "$work/agent.log"; exit 1; }
  sleep 0.1
done
[ -S "$socket" ] || { echo "FAIL: dev agent socket did not appear"; cat "$work/agent.log"; exit 1; }
export SPIFFE_ENDPOINT_SOCKET="unix://$socket"

run() {  # $1 = label, rest = command; the last run idles 1 s before reading its RSS
  local label=$1; shift
  for i in $(seq 1 "$runs"); do
    local idle=()
    [ "$i" -eq "$runs" ] && idle=(--idle-ms 1000)
    out=$(SPIFFE_SMOKE_LAUNCH_NS=$(date +%s%N) "$@" "${idle[@]}") || { echo "FAIL: $label run $i"; echo "$out"; exit 1; }
    echo "$label run $i: $out"
  done
  rss=$(sed -n 's/.* rss_mb=\([0-9.]*\).*/\1/p' <<<"$out")
  echo "$label: idle RSS ${rss} MB after the last run"
}

step "run the native app $runs times"
run native "$work/app/Spiffe.AotSmoke"
grep -q 'native_aot=True' <<<"$out" || { echo "FAIL: the published app is not Native AOT"; exit 1; }
awk -v r="$rss" 'BEGIN { exit !(r <= 40) }' || { echo "FAIL: idle RSS $rss MB > 40 MB"; exit 1; }

if [ "${AOT_SMOKE_COMPARE:-0}" = 1 ]; then
  step "the same app JIT-compiled, for comparison"
  run jit dotnet "$root/tests/Spiffe.AotSmoke/bin/Release/net10.0/linux-x64/Spiffe.AotSmoke.dll"
fi
step "passed"

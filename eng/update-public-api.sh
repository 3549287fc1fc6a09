#!/usr/bin/env bash
# Adds every symbol the PublicApiAnalyzers report as undeclared (RS0016) to the project's
# PublicAPI.Unshipped.txt. Usage: eng/update-public-api.sh src/Spiffe.Core
# Review the diff afterwards: this records the API, it does not approve it.
set -euo pipefail
project_dir=${1:?usage: eng/update-public-api.sh src/<Project>}
log=$(mktemp)
dotnet build "$project_dir" --no-incremental -p:TreatWarningsAsErrors=false >"$log" 2>&1 || true
unshipped="$project_dir/PublicAPI.Unshipped.txt"
grep -o "RS0016: Symbol '.*' is not part of the declared public API" "$log" \
  | sed -e "s/^RS0016: Symbol '//" -e "s/' is not part of the declared public API$//" \
  | sort -u >>"$unshipped"
{ head -n1 "$unshipped"; tail -n +2 "$unshipped" | sort -u; } >"$unshipped.tmp" && mv "$unshipped.tmp" "$unshipped"
rm -f "$log"
echo "updated $unshipped ($(($(wc -l <"$unshipped") - 1)) symbols)"

#!/usr/bin/env bash
# Consumer test: packs every package under src/ into a local folder, checks each carries its README,
# metadata and a symbol package, installs the spiffe tool from that folder, builds a fresh
# application (tests/consumer, copied outside the repository) that references the packages by
# version only, and runs it against the packed tool's dev agent: it must serve and call mutual TLS.
# Catches missing package dependencies and packaging mistakes that ProjectReferences hide.
#
# Usage: eng/consumer-test.sh            (a fresh NuGet cache under the work folder, as a new user has)
# Needs: the .NET SDK, unzip or python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/spiffe-consumer.XXXXXX")
agent_pid=
cleanup() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# Our pre-release versions repeat across builds of one commit: never take one from the shared cache.
export NUGET_PACKAGES="$work/nuget-cache"
step() { printf '\n== consumer test: %s (%ds)\n' "$1" "$SECONDS"; }

step "pack every package under src/"
projects=("$root"/src/*/*.csproj)
printf '{"solution":{"path":"%s","projects":[%s]}}\n' "$root/Spiffe.sln" \
  "$(printf '"%s",' "${projects[@]#"$root/"}" | sed 's/,$//')" > "$work/packages.slnf"
dotnet pack "$work/packages.slnf" -c Release -o "$work/packages" -nologo -v:q

nupkg_list() { python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1"; }
nuspec() { python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith(".nuspec")][0]).decode("utf-8-sig"))' "$1"; }

version=
for csproj in "${projects[@]}"; do
  id=$(sed -n 's:.*<PackageId>\(.*\)</PackageId>.*:\1:p' "$csproj")
  pkg=$(ls "$work/packages/$id".[0-9]*.nupkg 2>/dev/null | grep -v '\.symbols\.' | head -n 1 || true)
  [ -n "$pkg" ] || { echo "FAIL: no package for $id ($csproj)"; exit 1; }
  v=${pkg##*/"$id".}; v=${v%.nupkg}
  version=${version:-$v}
  [ "$v" = "$version" ] || { echo "FAIL: $id is $v, the others $version"; exit 1; }
  [ -f "$work/packages/$id.$v.snupkg" ] || { echo "FAIL: no symbol package for $id"; exit 1; }
  files=$(nupkg_list "$pkg")
  grep -qx 'README.md' <<<"$files" || { echo "FAIL: $id carries no README.md"; exit 1; }
  spec=$(nuspec "$pkg")
  for field in '<readme>README.md</readme>' '<projectUrl>' '<repository type="git" url="' '<tags>' '<releaseNotes>' '<license type="expression">' '<description>'; do
    grep -qF "$field" <<<"$spec" || { echo "FAIL: $id nuspec lacks $field"; exit 1; }
  done
  grep -q 'commit="[0-9a-f]\{40\}"' <<<"$spec" || { echo "FAIL: $id nuspec names no commit (SourceLink)"; exit 1; }
  echo "ok $id $v: README, metadata, symbols"
done

step "install the spiffe tool from the local folder"
dotnet tool install Spiffe.Cli --version "$version" --tool-path "$work/tools" --add-source "$work/packages"

step "start its dev agent"
socket="$work/agent.sock"
"$work/tools/spiffe" dev-agent --socket "unix://$socket" --trust-domain example.org --id spiffe://example.org/consumer \
  > "$work/agent.log" 2>&1 &
agent_pid=$!

step "build a fresh app on the packages ($version)"
mkdir "$work/app"
cp "$root/tests/consumer/Program.cs" "$root/tests/consumer/Spiffe.Consumer.csproj" "$root/tests/consumer/nuget.config" "$work/app/"
dotnet build "$work/app" -c Release -p:SpiffeVersion="$version" -nologo -v:q

for _ in $(seq 1 600); do  # at most 60 s for the agent (a cold tool start under load)
  [ -S "$socket" ] && break
  kill -0 "$agent_pid" 2>/dev/null || { echo "FAIL: dev agent exited"; cat "$work/agent.log"; exit 1; }
  sleep 0.1
done
[ -S "$socket" ] || { echo "FAIL: dev agent socket did not appear"; cat "$work/agent.log"; exit 1; }

step "run it against the dev agent"
SPIFFE_ENDPOINT_SOCKET="unix://$socket" dotnet "$work/app/bin/Release/net10.0/Spiffe.Consumer.dll" \
  --Spiffe:Authorization:AllowedIds:0=spiffe://example.org/consumer
step "passed"

#!/usr/bin/env bash
# Contract test of the Telnyx adapter: Prism serves Telnyx's OpenAPI subset and validates every
# request; the [Category("TelnyxContract")] tests send the adapter's real SMS, call and Number Lookup requests.
#   scripts/telnyx-contract.sh
# Env: TELNYX_SPEC (default contracts/telnyx/telnyx-v2-subset.yml in this repository),
#      TELNYX_LOOKUP_SPEC (default contracts/telnyx/telnyx-number-lookup.yml, served by a second Prism on the next port),
#      TELNYX_PRISM_PORT (default: the first free pair of ports from 4010 up; a port given and taken is an error).
# Prism is installed into .data/prism on first use (npm registry). Exits with the tests' status.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
spec=${TELNYX_SPEC:-$root/contracts/telnyx/telnyx-v2-subset.yml}
lookup_spec=${TELNYX_LOOKUP_SPEC:-$root/contracts/telnyx/telnyx-number-lookup.yml}
host=127.0.0.1
port=${TELNYX_PRISM_PORT:-4010}
lookup_log=$root/.data/prism-contract-lookup.log
prism_dir=$root/.data/prism
prism=$prism_dir/node_modules/.bin/prism
log=$root/.data/prism-contract.log

if [ ! -f "$spec" ]; then
  echo "telnyx-contract: spec not found at $spec (set TELNYX_SPEC)" >&2
  exit 2
fi
spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
[ -f "$lookup_spec" ] || { echo "telnyx-contract: Number Lookup spec not found at $lookup_spec" >&2; exit 2; }
lookup_spec=$(cd "$(dirname "$lookup_spec")" && pwd)/$(basename "$lookup_spec")

prism_version=5.16.0
installed=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$prism_dir/node_modules/@stoplight/prism-cli/package.json" 2>/dev/null || true)
if [ ! -x "$prism" ] || [ "$installed" != "$prism_version" ]; then
  command -v npm >/dev/null || { echo "telnyx-contract: npm is needed to install Prism (e.g. apt-get install npm)" >&2; exit 2; }
  echo "telnyx-contract: installing Prism into $prism_dir" >&2
  mkdir -p "$prism_dir"
  npm install --prefix "$prism_dir" --no-save --no-audit --no-fund "@stoplight/prism-cli@$prism_version" >&2
fi

answers() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }
# Another checkout's run (or anything else) may hold the default pair: move on to the next free one, as pg.sh does.
for _ in $(seq 1 20); do
  answers "$port" || answers "$((port + 1))" || break
  if [ -n "${TELNYX_PRISM_PORT:-}" ]; then
    echo "telnyx-contract: something already listens on $host:$port or $((port + 1)); set another TELNYX_PRISM_PORT" >&2
    exit 2
  fi
  port=$((port + 2))
done
lookup_port=$((port + 1))
if answers "$port" || answers "$lookup_port"; then
  echo "telnyx-contract: no free pair of ports from 4010 up; set TELNYX_PRISM_PORT" >&2
  exit 2
fi

mkdir -p "$(dirname "$log")"
# Own process groups, so the trap stops each Prism and anything it spawns, and nothing else.
setsid "$prism" mock -h "$host" -p "$port" "$spec" >"$log" 2>&1 &
prism_pid=$!
setsid "$prism" mock -h "$host" -p "$lookup_port" "$lookup_spec" >"$lookup_log" 2>&1 &
lookup_pid=$!
stop_prism() {
  for pid in "$prism_pid" "$lookup_pid"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_prism EXIT
trap 'exit 130' INT TERM

wait_for() { # pid port log
  for _ in $(seq 1 120); do
    if ! kill -0 "$1" 2>/dev/null; then
      echo "telnyx-contract: Prism exited early; its log:" >&2
      cat "$3" >&2
      exit 2
    fi
    answers "$2" && return 0
    sleep 0.5
  done
  echo "telnyx-contract: Prism did not start listening on $host:$2" >&2
  exit 2
}
wait_for "$prism_pid" "$port" "$log"
wait_for "$lookup_pid" "$lookup_port" "$lookup_log"

status=0
(cd "$root" && TELNYX_PRISM_URL="http://$host:$port" TELNYX_LOOKUP_PRISM_URL="http://$host:$lookup_port" \
  dotnet test AuthService.Tests --filter "Category=TelnyxContract") || status=$?

if grep -q "Violation:" "$log" "$lookup_log"; then
  echo "telnyx-contract: Prism reported spec violations (the rejection tests cause some on purpose):" >&2
  grep -h "Violation:" "$log" "$lookup_log" >&2 || true
fi
echo "telnyx-contract: Prism logs in $log and $lookup_log" >&2
exit "$status"

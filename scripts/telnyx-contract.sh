#!/usr/bin/env bash
# Contract test of the Telnyx adapter: Prism serves Telnyx's OpenAPI subset and validates every
# request; the [Category("TelnyxContract")] tests send the adapter's real SMS and call requests.
#   scripts/telnyx-contract.sh
# Env: TELNYX_SPEC (default contracts/telnyx/telnyx-v2-subset.yml in this repository),
#      TELNYX_PRISM_PORT (default 4010).
# Prism is installed into .data/prism on first use (npm registry). Exits with the tests' status.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
spec=${TELNYX_SPEC:-$root/contracts/telnyx/telnyx-v2-subset.yml}
host=127.0.0.1
port=${TELNYX_PRISM_PORT:-4010}
prism_dir=$root/.data/prism
prism=$prism_dir/node_modules/.bin/prism
log=$root/.data/prism-contract.log

if [ ! -f "$spec" ]; then
  echo "telnyx-contract: spec not found at $spec (set TELNYX_SPEC)" >&2
  exit 2
fi
spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")

if [ ! -x "$prism" ]; then
  command -v npm >/dev/null || { echo "telnyx-contract: npm is needed to install Prism (e.g. apt-get install npm)" >&2; exit 2; }
  echo "telnyx-contract: installing Prism into $prism_dir" >&2
  mkdir -p "$prism_dir"
  npm install --prefix "$prism_dir" --no-save --no-audit --no-fund @stoplight/prism-cli@5.16.0 >&2
fi

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
if answers; then
  echo "telnyx-contract: something already listens on $host:$port; set TELNYX_PRISM_PORT" >&2
  exit 2
fi

mkdir -p "$(dirname "$log")"
# Own process group, so the trap stops Prism and anything it spawns, and nothing else.
setsid "$prism" mock -h "$host" -p "$port" "$spec" >"$log" 2>&1 &
prism_pid=$!
stop_prism() {
  kill -TERM -- "-$prism_pid" 2>/dev/null || kill -TERM "$prism_pid" 2>/dev/null || true
  wait "$prism_pid" 2>/dev/null || true
}
trap stop_prism EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 120); do
  if ! kill -0 "$prism_pid" 2>/dev/null; then
    echo "telnyx-contract: Prism exited early; its log:" >&2
    cat "$log" >&2
    exit 2
  fi
  answers && break
  sleep 0.5
done
answers || { echo "telnyx-contract: Prism did not start listening on $host:$port" >&2; exit 2; }

status=0
(cd "$root" && TELNYX_PRISM_URL="http://$host:$port" dotnet test AuthService.Tests --filter "Category=TelnyxContract") || status=$?

if grep -q "Violation:" "$log"; then
  echo "telnyx-contract: Prism reported spec violations (the rejection test causes some on purpose):" >&2
  grep "Violation:" "$log" >&2 || true
fi
echo "telnyx-contract: Prism log in $log" >&2
exit "$status"

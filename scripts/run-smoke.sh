#!/usr/bin/env bash
# `make run` as a newcomer runs it, checked (CI, `make run-smoke`): the service starts from this checkout's .data/dev.env,
# answers /health/ready, and the admin key `make run` prints is accepted. A dev-env.sh that exported a damaged key once made
# every checkout refuse to start while every test passed (they bring their own keys).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${SMOKE_PORT:-18097}
log=.data/run-smoke.log
mkdir -p .data
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "run-smoke: port $port is taken; set SMOKE_PORT" >&2; exit 1
fi
# The local cluster `make run` starts is stopped again at the end unless it was already running (CI's later steps share the machine).
dev_was_up=$([ -f .data/dev/data/postmaster.pid ] && echo 1 || true)
setsid make --no-print-directory run PORT="$port" >"$log" 2>&1 &
runner=$!
cleanup() {
  kill -- -"$runner" 2>/dev/null || true
  wait "$runner" 2>/dev/null || true
  [ -n "$dev_was_up" ] || [ -n "${ConnectionStrings__Auth:-}" ] || scripts/pg.sh stop dev >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  if ! kill -0 "$runner" 2>/dev/null; then echo "run-smoke: make run exited:" >&2; cat "$log" >&2; exit 1; fi
  if curl -fsS "http://localhost:$port/health/ready" >/dev/null 2>&1; then break; fi
  sleep 1
done
curl -fsS "http://localhost:$port/health/ready" >/dev/null || { echo "run-smoke: not ready after 120 s" >&2; cat "$log" >&2; exit 1; }
key=$(sed -n 's/.*Admin API key: \(.*\)$/\1/p' "$log" | head -1)
[ -n "$key" ] || { echo "run-smoke: make run printed no admin key" >&2; cat "$log" >&2; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$port/v1/api-keys" -H "Authorization: Bearer $key")
[ "$status" = 200 ] || { echo "run-smoke: GET /v1/api-keys with the printed admin key answered $status" >&2; exit 1; }
echo "run-smoke: make run serves on $port and accepts the admin key it prints"

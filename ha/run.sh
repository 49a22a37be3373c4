#!/usr/bin/env bash
# `make ha-test`: a Patroni-managed primary + synchronous standby (ha/cluster.sh), three AuthService instances under
# verify and challenge load (ha/AuthService.HaTest), the primary killed, one table. Exit 1 when a check fails.
# Everything it started is stopped on exit, also on failure or Ctrl-C.
#   HA_SYNC=off  runs the same test with Patroni's synchronous_mode off (the checks should then fail)
#   HA_FREEZE=S  freeze the primary's WAL sender S seconds before the kill (default 2; 0: a plain kill)
#   HA_ARGS="--before 8 --after 8 --workers 9"  extra driver options
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p .data
pids=.data/ha-children.pid
: >"$pids"
cleanup() {
  while read -r pid; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done <"$pids"
  ha/cluster.sh stop || true
}
trap cleanup EXIT INT TERM

echo "ha-test: building (Release)" >&2
dotnet build AuthService.Api -c Release -v quiet -nologo >.data/ha-build.log 2>&1 &&
  dotnet build ha/AuthService.HaTest -c Release -v quiet -nologo >>.data/ha-build.log 2>&1 || { cat .data/ha-build.log; exit 1; }

echo "ha-test: starting etcd and two Patroni nodes (synchronous_mode ${HA_SYNC:-on})" >&2
ha/cluster.sh start
timeout 480 dotnet ha/AuthService.HaTest/bin/Release/net10.0/AuthService.HaTest.dll \
  --conn "$(ha/cluster.sh conn)" --service-dll AuthService.Api/bin/Release/net10.0/AuthService.Api.dll \
  --pid-file "$pids" --kill "ha/cluster.sh kill-leader" --freeze "${HA_FREEZE:-2}" --sync "${HA_SYNC:-on}" ${HA_ARGS:-} | tee .data/ha-table.txt
exit "${PIPESTATUS[0]}"

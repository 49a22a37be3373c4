#!/usr/bin/env bash
# `make bench` / `make bench-smoke`: build Release, run the BenchmarkDotNet micro suite, start a throwaway PostgreSQL
# cluster, then the load client (which starts the service and the ceiling app itself) prints the one table.
#   bench/run.sh [--smoke] [--pgbouncer] [--no-micro] [extra load-client options, e.g. --users 100000 --workers 64]
# --pgbouncer: PgBouncer (transaction pooling, scripts/pgbouncer.sh) in front of the cluster and a second service
# behind it, measured as a further phase in the same rounds; skips the micro benchmarks (`make bench-pgbouncer`).
# BENCH_BASELINE_DLL=path/to/AuthService.Api.dll: another build of the service (e.g. the commit before a change) on its
# own database of the same cluster, measured as a further phase in the same rounds (a same-run before/after pair).
# --soak: `make soak` (issue 27) instead: saturation, then SOAK_MINUTES (default 20) of the open loop at half of it, on its
# own cluster (soak-pg, BENCH_PG_PORT default 25460) and output folder (.data/soak/report.md); no micro benchmarks.
# Nothing is left running: the trap stops the cluster and every child the load client recorded in the pid file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
smoke=""
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
# Durable PostgreSQL (fsync, synchronous commit, full-page writes) unless --fsync-off: the labelled variant that shows
# what durability costs; production must run durable.
durability=durable
pgbouncer=""
micro=1
soak=""
args=()
for arg in "$@"; do
  if [ "$arg" = "--fsync-off" ]; then durability=fsync-off; export PG_UNSAFE_FAST=1
  elif [ "$arg" = "--pgbouncer" ]; then pgbouncer=1; micro=""
  elif [ "$arg" = "--no-micro" ]; then micro=""
  elif [ "$arg" = "--soak" ]; then soak=1; micro=""
  else args+=("$arg"); fi
done
set -- ${args[@]+"${args[@]}"}
# Not "bench": the cluster lives in .data/<name>, and destroying it would delete this run's micro results in .data/bench.
cluster=${BENCH_PG_NAME:-bench-pg}
port=${BENCH_PG_PORT:-25450}
out=.data/bench
if [ -n "$soak" ]; then
  cluster=${BENCH_PG_NAME:-soak-pg}; port=${BENCH_PG_PORT:-25460}; out=.data/soak
  # Twenty minutes write 4–6 GB of WAL and millions of audit rows. With PostgreSQL's defaults (shared_buffers 128 MB,
  # max_wal_size 1 GB) the cluster checkpoints on WAL volume, ever more often as the tables grow (soak 11, docs/SCALING.md),
  # which no production database is sized for. SOAK_PG_OPTS="" runs the defaults; the report prints what ran.
  export PG_EXTRA_OPTS="${SOAK_PG_OPTS--c shared_buffers=4GB -c max_wal_size=16GB} ${PG_EXTRA_OPTS:-}"
fi
mkdir -p "$out"
pids="$out/children.pid"
: >"$pids"

cleanup() {
  while read -r pid; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done <"$pids"
  [ -n "$pgbouncer" ] && scripts/pgbouncer.sh stop bench-pgbouncer
  scripts/pg.sh stop "$cluster" || true
}
trap cleanup EXIT INT TERM

echo "bench: building (Release)" >&2
dotnet build bench/Bench.sln -c Release -v quiet -nologo >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
bin=net10.0

rm -f "$out/micro.json"
if [ -n "$micro" ]; then
  echo "bench: micro (BenchmarkDotNet${smoke:+, Dry job})" >&2
  dotnet "bench/AuthService.Bench.Micro/bin/Release/$bin/AuthService.Bench.Micro.dll" ${smoke:+--smoke} --out "$out/micro.json" \
    >"$out/micro.log" 2>&1 || { tail -40 "$out/micro.log"; exit 1; }
fi

scripts/pg.sh destroy "$cluster" || true # a restarted cluster keeps its settings only until it is started again
conn=$(scripts/pg.sh start "$cluster" "$port")

load_args=(--pg "$conn"
  --service-dll "${BENCH_SERVICE_DLL:-AuthService.Api/bin/Release/$bin/AuthService.Api.dll}"
  --ceiling-dll "bench/AuthService.Bench.Ceiling/bin/Release/$bin/AuthService.Bench.Ceiling.dll"
  --micro "$out/micro.json" --pid-file "$pids" --durability "$durability")
if [ -n "${BENCH_BASELINE_DLL:-}" ]; then
  [ -f "$BENCH_BASELINE_DLL" ] || { echo "bench: BENCH_BASELINE_DLL=$BENCH_BASELINE_DLL does not exist" >&2; exit 1; }
  load_args+=(--baseline-dll "$BENCH_BASELINE_DLL")
fi
if [ -n "$pgbouncer" ]; then
  backend=$(echo "$conn" | sed -n 's/.*Port=\([0-9]*\).*/\1/p')
  load_args+=(--pgbouncer "$(scripts/pgbouncer.sh start bench-pgbouncer "${BENCH_PGBOUNCER_PORT:-25451}" "$backend")")
fi
if [ -n "$smoke" ]; then
  load_args+=(--smoke --rounds 1 --users 2000 --workers 4 --warmup 0.5 --duration 1 --half-duration 1 --half-warmup 0.5 --cold-starts 1 --backup-codes 0)
fi
table="$out/table.txt"
if [ -n "$soak" ]; then
  load_args+=(--soak-minutes "${SOAK_MINUTES:-20}" --cold-starts 1 --backup-codes 0)
  table="$out/report.md"
  export SOAK_TIMELINE="$out/timeline.tsv"
fi
dotnet "bench/AuthService.Bench.Load/bin/Release/$bin/AuthService.Bench.Load.dll" "${load_args[@]}" "$@" | tee "$table"

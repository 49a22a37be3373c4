#!/usr/bin/env bash
# `make profile` (issue 27): one round of the bench's verify phase on durable PostgreSQL with pg_stat_statements loaded;
# while it runs, dotnet-trace samples the service for PROFILE_SECONDS (default 10) and pg_stat_statements is reset and
# read over the same window. Then a second window of the same round with dotnet-trace's gc-verbose profile.
# Writes, in .data/profile/: verify.svg (a CPU flame graph: bench/profile/flamegraph.py),
# verify.speedscope.json (every thread, open it at https://www.speedscope.app), categories.md (where the service's CPU went: bench/profile/categories.py), statements.tsv (PostgreSQL per statement) and allocations.md (where the
# service's managed allocations went, with bytes per verify: bench/AuthService.Bench.Alloc).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=.data/profile
seconds=${PROFILE_SECONDS:-10}
mkdir -p "$out"
rm -f "$out"/verify.* "$out"/statements.tsv "$out"/categories.md "$out"/allocations.*
dotnet tool restore >/dev/null
# track_planning: planning is not in total_exec_time, and a prepared statement planned again at every call hid there.
PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on" bench/run.sh --no-micro --rounds 1 --warmup 10 \
  --duration $((2 * seconds + 40)) --cold-starts 1 --backup-codes 0 --half-duration 2 --users 300000 >"$out/bench.log" 2>&1 &
bench=$!
until grep -q "round 1/1: verify," "$out/bench.log" 2>/dev/null; do
  kill -0 $bench 2>/dev/null || { cat "$out/bench.log"; exit 1; }
  sleep 1
done
sleep 12 # past the warm-up
pid=$(pgrep -f "$root/AuthService.Api/bin/Release/net10.0/AuthService.Api.dll" | head -1)
# The cluster the service really uses: pg.sh moves past a taken port, so BENCH_PG_PORT's default may be another checkout's.
port=$(tr '\0' '\n' </proc/"$pid"/environ | sed -n 's/^ConnectionStrings__Auth=.*Port=\([0-9]*\).*/\1/p')
psql="psql -h 127.0.0.1 -p ${port:-${BENCH_PG_PORT:-25450}} -U postgres -d authbench -At"
$psql -c "create extension if not exists pg_stat_statements" -c "select pg_stat_statements_reset()" >/dev/null
dotnet tool run dotnet-trace collect -p "$pid" --duration "00:00:00:$(printf %02d "$seconds")" \
  -o "$out/verify.nettrace" >"$out/trace.log" 2>&1
printf 'calls\tus_per_call\tplans\tplan_us_per_call\tbuffers_per_call\twal_bytes_per_call\tfpi_per_call\trows\tquery\n' >"$out/statements.tsv"
$psql -F $'\t' -c "select calls, round((total_exec_time / calls)::numeric * 1000, 1) as us_per_call,
    plans, round((total_plan_time / calls)::numeric * 1000, 1) as plan_us_per_call,
    round((shared_blks_hit + shared_blks_read)::numeric / calls, 1) as buffers_per_call, round(wal_bytes::numeric / calls) as wal_bytes_per_call,
    round(wal_fpi::numeric / calls, 2) as fpi_per_call, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 120)
    from pg_stat_statements where dbid = (select oid from pg_database where datname = 'authbench') and calls > 100
    order by total_exec_time + total_plan_time desc" >>"$out/statements.tsv"
# The allocation window: verifies counted from the service's own latency histogram around it.
url=$(tr '\0' '\n' </proc/"$pid"/environ | sed -n 's/^ASPNETCORE_URLS=//p')
url=${url%/}
verifies() { curl -s "$url/metrics" | awk '/^http_request_duration_seconds_count\{.*two-factor\/verify"/ { n += $2 } END { printf "%d", n }'; }
first=$(verifies)
dotnet tool run dotnet-trace collect -p "$pid" --profile gc-verbose --duration "00:00:00:$(printf %02d "$seconds")" \
  -o "$out/allocations.nettrace" >"$out/alloc-trace.log" 2>&1
last=$(verifies)
# The traces stand even when the bench's own checks fail (e.g. one 422 when two adjacent TOTP steps of a user share a code,
# a 1-in-a-million coincidence the service rightly refuses on that user's next step): say so, and go on.
wait $bench || echo "profile: the bench reported a failed check (see $out/bench.log); the traces below are complete" >&2
[ $((last - first)) -gt 0 ] || { echo "profile: no verify was counted during the allocation window" >&2; exit 1; }
# Converted after both windows: the conversion takes longer than the round has left. (convert names it verify.speedscope.json)
dotnet tool run dotnet-trace convert --format speedscope -o "$out/verify" "$out/verify.nettrace" >>"$out/trace.log" 2>&1
dotnet run -c Release --project bench/AuthService.Bench.Alloc -- "$out/allocations.nettrace" 25 $((last - first)) >"$out/allocations.md"
python3 bench/profile/categories.py "$out/verify.speedscope.json" >"$out/categories.md"
python3 bench/profile/flamegraph.py "$out/verify.speedscope.json" "$out/verify.svg" "POST /verify under the bench's closed loop, durable PostgreSQL"
echo "profile: $out/verify.svg, $out/verify.speedscope.json, $out/categories.md, $out/statements.tsv, $out/allocations.md"
cat "$out/categories.md" "$out/statements.tsv" "$out/allocations.md"

#!/usr/bin/env bash
# A two-node PostgreSQL cluster managed by Patroni with a one-node etcd, all on loopback, from Debian's packages
# (postgresql, patroni, etcd-server; installed with apt-get when missing). Used by `make ha-test` (ha/run.sh).
#   ha/cluster.sh start       etcd + node1 + node2; waits for a leader and a streaming (sync) standby
#   ha/cluster.sh conn        the Npgsql multi-host connection string (Target Session Attributes=primary)
#   ha/cluster.sh status      Patroni's view of the members (JSON)
#   ha/cluster.sh kill-leader [FREEZE_S]   SIGKILL the leader's Patroni and PostgreSQL (a machine dying); with
#                             FREEZE_S > 0 the primary's WAL sender is frozen (SIGSTOP) that long just before,
#                             so the standby lags when the primary dies. Prints the killed node's name and the
#                             moment of the kill (Unix ms).
#   ha/cluster.sh stop        stops everything this script started (also what a failed run left behind)
# Environment: HA_SYNC=on|off (Patroni synchronous_mode, default on), HA_DIR (default .data/ha or a /tmp directory
# `postgres` can write), HA_PORT_BASE (default 26500: etcd +0/+1, Patroni REST +8/+9, PostgreSQL +11/+12).
set -euo pipefail
cmd=${1:?start|conn|status|kill-leader|stop}
root=$(cd "$(dirname "$0")/.." && pwd)
base=${HA_PORT_BASE:-26500}
etcd_client=$((base)); etcd_peer=$((base + 1))
rest=($((base + 8)) $((base + 9))); pg=($((base + 11)) $((base + 12)))
sync=${HA_SYNC:-on}
dir=${HA_DIR:-$root/.data/ha}

as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && su postgres -s /bin/sh -c "$*"); else sh -c "$*"; fi; }
log() { echo "ha: $*" >&2; }

pg_bin() {
  for d in ${PG_BIN:-} /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  return 1
}

install_missing() {
  local missing=()
  pg_bin >/dev/null || missing+=(postgresql)
  command -v patroni >/dev/null || missing+=(patroni python3-etcd python3-psycopg2)
  command -v curl >/dev/null || missing+=(curl)
  command -v etcd >/dev/null || missing+=(etcd-server)
  [ ${#missing[@]} -eq 0 ] || "$root/scripts/apt-install.sh" "${missing[@]}"
}

rest_get() { curl -fsS --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null; }

# The member list as "name role state" lines, asked of whichever Patroni answers.
members() {
  for p in "${rest[@]}"; do
    if out=$(rest_get "$p" /cluster); then
      python3 -c 'import json,sys
for m in json.load(sys.stdin)["members"]: print(m["name"], m["role"], m["state"], m.get("lag", 0))' <<<"$out"
      return 0
    fi
  done
  return 1
}

start() {
  install_missing
  [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1 && useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  stop_all quiet
  rm -rf "$dir"; mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    if ! as_pg "test -w '$dir'"; then
      dir="/tmp/authservice-ha-$(echo "$root" | md5sum | cut -c1-8)"; rm -rf "$dir"; mkdir -p "$dir"; chown postgres: "$dir"
    fi
  fi
  mkdir -p "$root/.data"; echo "$dir" >"$root/.data/ha.dir"
  local bin; bin=$(pg_bin)
  as_pg "etcd --name ha --data-dir '$dir/etcd' --listen-client-urls http://127.0.0.1:$etcd_client \
    --advertise-client-urls http://127.0.0.1:$etcd_client --listen-peer-urls http://127.0.0.1:$etcd_peer \
    --initial-advertise-peer-urls http://127.0.0.1:$etcd_peer --initial-cluster ha=http://127.0.0.1:$etcd_peer \
    >'$dir/etcd.log' 2>&1 & echo \$! >'$dir/etcd.pid'"
  for _ in $(seq 1 100); do curl -fsS --max-time 1 "http://127.0.0.1:$etcd_client/health" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS --max-time 1 "http://127.0.0.1:$etcd_client/health" >/dev/null || { log "etcd did not start"; cat "$dir/etcd.log" >&2; exit 1; }

  local mode=true; [ "$sync" = off ] && mode=false
  for i in 0 1; do
    local name="node$((i + 1))" nd="$dir/node$((i + 1))"
    mkdir -p "$nd"; [ "$(id -u)" = 0 ] && chown postgres: "$nd"
    # ttl 10 s / loop 1 s: the standby takes over ~10 s after the leader stops renewing its key.
    cat >"$nd/patroni.yml" <<EOF
scope: authservice-ha
name: $name
log: {level: WARNING}
restapi: {listen: 127.0.0.1:${rest[$i]}, connect_address: 127.0.0.1:${rest[$i]}}
etcd3: {hosts: 127.0.0.1:$etcd_client}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 67108864
    synchronous_mode: $mode
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true
      parameters: {wal_level: replica, hot_standby: 'on', wal_log_hints: 'on', max_wal_senders: 5,
                   max_replication_slots: 5, max_connections: 200, synchronous_commit: 'on'}
  initdb: [{encoding: UTF8}, {auth: trust}]
  pg_hba:
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:${pg[$i]}
  connect_address: 127.0.0.1:${pg[$i]}
  data_dir: $nd/data
  bin_dir: $bin
  pgpass: $nd/pgpass
  authentication:
    superuser: {username: postgres, password: postgres}
    replication: {username: replicator, password: replicator}
  parameters: {unix_socket_directories: '$nd'}
EOF
    [ "$(id -u)" = 0 ] && chown postgres: "$nd/patroni.yml"
    as_pg "patroni '$nd/patroni.yml' >'$nd/patroni.log' 2>&1 & echo \$! >'$nd/patroni.pid'"
    [ $i = 0 ] && wait_for "a leader" 'members | grep -q " leader running"'
  done
  if [ "$sync" = off ]; then
    wait_for "a streaming standby" 'members | grep -qE " replica (streaming|running)"'
  else
    wait_for "a synchronous standby" 'members | grep -qE " sync_standby (streaming|running)"'
  fi
  members | sed 's/^/ha:   /' >&2
}

wait_for() {
  for _ in $(seq 1 240); do
    eval "$2" && return 0
    for pf in "$dir"/node*/patroni.pid; do
      kill -0 "$(pid_of "$pf")" 2>/dev/null || { log "Patroni exited: ${pf%/*}/patroni.log"; tail -5 "${pf%/*}/patroni.log" >&2; exit 1; }
    done
    sleep 0.5
  done
  log "no $1 after 120 s"; tail -20 "$dir"/node*/patroni.log >&2; exit 1
}

pid_of() { cat "$1" 2>/dev/null || true; }

# SIGKILL one node: Patroni first (so it cannot restart PostgreSQL), then the postmaster and its children.
kill_node() {
  local nd="$dir/$1" ppid pm kids
  ppid=$(pid_of "$nd/patroni.pid"); pm=$(head -1 "$nd/data/postmaster.pid" 2>/dev/null || true)
  kids=""; [ -n "$pm" ] && kids=$(pgrep -P "$pm" || true)
  [ -n "$ppid" ] && kill -9 "$ppid" 2>/dev/null || true
  [ -n "$pm" ] && kill -9 "$pm" $kids 2>/dev/null || true
}

kill_leader() {
  local freeze=${1:-0} leader ws="" at
  leader=$(members | awk '$2 == "leader" {print $1}')
  [ -n "$leader" ] || { log "no leader to kill"; exit 1; }
  if [ "$freeze" != 0 ]; then
    # Freeze the primary's WAL sender (not the standby's receiver: what is already in the socket buffers still arrives
    # after the kill). Synchronous commits then wait; asynchronous ones are acknowledged and never reach the standby.
    local port=${pg[$(( ${leader#node} - 1 ))]}
    ws=$(PGCONNECT_TIMEOUT=2 psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc "select pid from pg_stat_replication" 2>/dev/null || true)
    [ -n "$ws" ] && kill -STOP $ws && sleep "$freeze"
  fi
  kill_node "$leader"
  at=$(date +%s%3N)
  echo "$leader $at"
}

stop_all() {
  local d; d=$(cat "$root/.data/ha.dir" 2>/dev/null || echo "$dir")
  [ -d "$d" ] || return 0
  for nd in "$d"/node*; do
    [ -d "$nd" ] || continue
    local ppid; ppid=$(pid_of "$nd/patroni.pid")
    [ -n "$ppid" ] && kill -TERM "$ppid" 2>/dev/null || true
  done
  for nd in "$d"/node*; do
    local ppid; ppid=$(pid_of "$nd/patroni.pid")
    for _ in $(seq 1 100); do [ -n "$ppid" ] && kill -0 "$ppid" 2>/dev/null || break; sleep 0.1; done
    [ -n "$ppid" ] && kill -9 "$ppid" 2>/dev/null || true
    [ -f "$nd/data/postmaster.pid" ] && as_pg "'$(pg_bin)/pg_ctl' -D '$nd/data' -m immediate stop" >/dev/null 2>&1 || true
  done
  local epid; epid=$(pid_of "$d/etcd.pid")
  [ -n "$epid" ] && kill -TERM "$epid" 2>/dev/null || true
  [ "${1:-}" = quiet ] || log "stopped"
}

case "$cmd" in
start) start ;;
conn) echo "Host=127.0.0.1:${pg[0]},127.0.0.1:${pg[1]};Username=postgres;Password=postgres;Target Session Attributes=primary" ;;
status) members ;;
kill-leader) dir=$(cat "$root/.data/ha.dir"); kill_leader "${2:-0}" ;;
stop) stop_all ;;
*) echo "usage: $0 start|conn|status|kill-leader [FREEZE_S]|stop" >&2; exit 2 ;;
esac

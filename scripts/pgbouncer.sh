#!/usr/bin/env bash
# Throwaway PgBouncer (Debian's package) in transaction pooling mode in front of a PostgreSQL on loopback.
#   scripts/pgbouncer.sh start NAME PORT BACKEND_PORT  -> prints the connection string on stdout
#   scripts/pgbouncer.sh stop NAME
# Every database name is passed through (`* =`) to the backend, logging in there as `postgres` (auth_type=any: the
# throwaway clusters trust loopback). Lives in .data/NAME (or /tmp like scripts/pg.sh when `postgres` cannot write
# there); runs as `postgres` when started as root, since PgBouncer refuses root.
set -euo pipefail
cmd=${1:?start|stop}; name=${2:?name}; port=${3:-26432}; backend=${4:-25432}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.data/$name"
# This checkout's fallback when `postgres` cannot write .data (as scripts/pg.sh's): another checkout's is never touched.
fallback="/tmp/authservice-pgb-$(echo "$root" | md5sum | cut -c1-8)-$name"
[ -d "$dir" ] || dir=$fallback

as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && su postgres -s /bin/sh -c "$*"); else sh -c "$*"; fi
}

stop() {
  for d in "$root/.data/$name" "$fallback"; do
    [ -f "$d/pgbouncer.pid" ] || continue
    pid=$(cat "$d/pgbouncer.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$d/pgbouncer.pid"
  done
}

case "$cmd" in
start)
  command -v pgbouncer >/dev/null 2>&1 || "$root/scripts/apt-install.sh" pgbouncer >&2
  stop
  dir="$root/.data/$name"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    if ! as_pg "test -w '$dir'"; then
      dir=$fallback
      mkdir -p "$dir"; chown postgres: "$dir"
    fi
  fi
  # A port something else holds (another checkout's PgBouncer): the next free one, as scripts/pg.sh does; the connection
  # string printed names the one taken.
  for _ in $(seq 1 20); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    port=$((port + 1))
  done
  # Sizing: the suite opens many client connections (one Npgsql pool per test app); PgBouncer folds them into at
  # most default_pool_size server connections per database, well under the cluster's max_connections=300.
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$backend user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 4000
default_pool_size = 20
max_db_connections = 60
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/pgbouncer.ini"
  : >"$dir/pgbouncer.log"; [ "$(id -u)" = 0 ] && chown postgres: "$dir/pgbouncer.log"
  as_pg "pgbouncer -d -q '$dir/pgbouncer.ini'" || { cat "$dir/pgbouncer.log" >&2; exit 1; }
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "pgbouncer did not listen on $port" >&2; cat "$dir/pgbouncer.log" >&2; exit 1; }
  echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  ;;
stop) stop ;;
*) echo "usage: $0 start NAME PORT BACKEND_PORT | stop NAME" >&2; exit 2 ;;
esac

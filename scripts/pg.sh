#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for `make run` / `make test`.
#   scripts/pg.sh start NAME PORT   -> prints the connection string on stdout
#   scripts/pg.sh stop NAME
#   scripts/pg.sh destroy NAME      -> stop and delete the cluster (throwaway clusters start from nothing)
# The cluster lives in .data/NAME. initdb/postgres refuse to run as root, so as
# root the cluster is owned by and run as the `postgres` user.
set -euo pipefail
cmd=${1:?start|stop}; name=${2:?cluster name}; port=${3:-25432}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.data/$name"

find_bin() {
  for d in ${PG_BIN:-} /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    # cd away from a directory `postgres` may not read.
    (cd / && su postgres -s /bin/sh -c "$*")
  else
    sh -c "$*"
  fi
}

bin=$(find_bin || true)
if [ -z "$bin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "PostgreSQL server binaries not found; installing with apt-get..." >&2
    # Through apt-install.sh: the package must not create and start a system cluster on 5432 and leave it running.
    "$(dirname "$0")/apt-install.sh" postgresql >&2
    bin=$(find_bin)
  else
    echo "PostgreSQL server binaries not found. Install them (Debian: sudo apt-get install postgresql)" >&2
    echo "or set ConnectionStrings__Auth to an existing database." >&2
    exit 1
  fi
fi

# This checkout's own fallback directory (named after its path): stop and destroy never touch another checkout's clusters.
fallback="/tmp/authservice-pg-$(echo "$root" | md5sum | cut -c1-8)-$name"

case "$cmd" in
start)
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" && chmod 700 "$dir"
  # The cluster must be reachable by `postgres`: a checkout under a private home
  # directory is not, so fall back to a directory under /tmp named after it.
  if [ "$(id -u)" = 0 ] && ! as_pg "test -w '$dir'"; then
    dir="$fallback"
    mkdir -p "$dir"; chown postgres: "$dir"; chmod 700 "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "'$bin/initdb' -D '$dir/data' -U postgres -A trust -E UTF8 --no-instructions" >"$dir.initdb.log" 2>&1 \
      || { cat "$dir.initdb.log" >&2; exit 1; }
  fi
  if as_pg "'$bin/pg_ctl' -D '$dir/data' status" >/dev/null 2>&1; then
    # Already running (e.g. `make run` twice): report the port it listens on.
    port=$(sed -n 4p "$dir/data/postmaster.pid" 2>/dev/null || echo "$port")
  else
    extra=""
    # Test clusters are throwaway: durability buys nothing there. `dev` and the bench's and soak's clusters (`bench*`,
    # `soak*`) run durable (PostgreSQL's defaults), as production must: a lost commit would make a used code valid again.
    # PG_UNSAFE_FAST=1 turns durability off for any cluster (the bench's labelled fsync-off variant).
    case "$name" in
      dev|bench|bench-*|soak|soak-*) [ "${PG_UNSAFE_FAST:-0}" = 1 ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" ;;
      *) extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" ;;
    esac
    # Profiling hook, e.g. PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements".
    extra="$extra ${PG_EXTRA_OPTS:-}"
    # A port can be taken (another cluster, or a client socket): move on to the next one, up to 20 times.
    for _ in $(seq 1 20); do
      if as_pg "'$bin/pg_ctl' -D '$dir/data' -l '$dir/data/server.log' -w -t 60 start \
           -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=300 $extra\"" >/dev/null 2>&1; then
        started=1; break
      fi
      grep -q "could not bind\|could not create any TCP/IP sockets\|lock file .* already exists" "$dir/data/server.log" \
        || { cat "$dir/data/server.log" >&2; exit 1; }
      : > "$dir/data/server.log"
      port=$((port + 1))
    done
    [ -n "${started:-}" ] || { echo "pg.sh: no free port for cluster $name" >&2; exit 1; }
  fi
  echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  ;;
stop)
  for d in "$dir" "$fallback"; do
    [ -f "$d/data/PG_VERSION" ] && as_pg "'$bin/pg_ctl' -D '$d/data' -m fast stop" >/dev/null 2>&1 || true
  done
  ;;
destroy)
  for d in "$dir" "$fallback"; do
    if [ -f "$d/data/PG_VERSION" ]; then
      as_pg "'$bin/pg_ctl' -D '$d/data' -m fast stop" >/dev/null 2>&1 ||
        as_pg "'$bin/pg_ctl' -D '$d/data' -m immediate stop" >/dev/null 2>&1 || true
      # A postmaster that did not stop keeps its port and its files open: deleting them under it would leave it running.
      if as_pg "'$bin/pg_ctl' -D '$d/data' status" >/dev/null 2>&1; then
        echo "pg.sh: the cluster in $d/data did not stop; not deleted" >&2
        exit 1
      fi
    fi
    rm -rf "$d" "$d.initdb.log"
  done
  ;;
*) echo "usage: $0 start|stop|destroy NAME [PORT]" >&2; exit 2;;
esac

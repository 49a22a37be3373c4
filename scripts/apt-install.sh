#!/usr/bin/env bash
# Installs Debian packages for the make targets that need them (pgbouncer, patroni, etcd-server), as root only.
# Package scripts must not start system-wide daemons (a default etcd on 2379, pgbouncer on 6432): a policy-rc.d that
# denies service starts is put in place for the install when the machine has none.
set -euo pipefail
[ $# -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing: $* (Debian: sudo apt-get install $*)" >&2; exit 1
fi
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
echo "installing $* with apt-get..." >&2
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; }
install "$@" || { apt-get update -qq >/dev/null && install "$@"; } || { echo "apt-get install $* failed" >&2; exit 1; }

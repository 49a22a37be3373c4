#!/usr/bin/env bash
# Sourced by `make run` / `make migrate`: a local database (unless ConnectionStrings__Auth is set) and
# persistent development secrets in .data/dev.env (generated once, never committed).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$root/.data"
if [ -z "${ConnectionStrings__Auth:-}" ]; then
  server=$("$root/scripts/pg.sh" start dev "${DEV_PG_PORT:-25433}") || exit 1
  port=$(echo "$server" | sed -n 's/.*Port=\([0-9]*\).*/\1/p')
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "select 1 from pg_database where datname='authservice'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -qc "create database authservice" || exit 1
  fi
  export ConnectionStrings__Auth="Host=127.0.0.1;Port=$port;Username=postgres;Database=authservice"
fi
if [ ! -f "$root/.data/dev.env" ]; then
  umask 077
  {
    echo "Encryption__ActiveKeyId=dev"
    echo "Encryption__Keys__dev=$(head -c 32 /dev/urandom | base64)"
    echo "Auth__BootstrapAdminKey=ask_dev_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  } > "$root/.data/dev.env"
fi
set -a
# shellcheck disable=SC1091
. "$root/.data/dev.env"
set +a
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
# Passkeys for the sample portal (`make portal`, opened as http://localhost:3000): a WebAuthn RP ID is a domain name.
if [ -z "${Passkeys__RelyingPartyId:-}" ]; then
  export Passkeys__RelyingPartyId=localhost
  export Passkeys__Origins__0="http://localhost:${PORTAL_PORT:-3000}"
fi
